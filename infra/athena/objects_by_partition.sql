-- Objects by partition: per activity_class prefix, the partitions (resource/hour prefixes),
-- objects and events.
-- "$path" is the object's S3 URI (an Athena hidden column; the local report's DuckDB view
-- provides a column of the same name).
SELECT activity_class,
       count(DISTINCT regexp_replace("$path", '/[^/]*$', '')) AS prefixes,
       count(DISTINCT "$path") AS objects,
       count(*) AS events
FROM das_events
GROUP BY activity_class
ORDER BY activity_class
