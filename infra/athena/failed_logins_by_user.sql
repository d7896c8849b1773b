-- Failed logins by user: failed logins per user and database, first and last seen.
-- The partition filter prunes the scan to the prefixes that can hold AUTH_FAILURE events:
-- their own and MIXED records.
-- logTime is text in the engine's format; within one database min/max sort correctly.
SELECT dbUserName,
       resource_id,
       count(*) AS failed_logins,
       min(logTime) AS first_seen,
       max(logTime) AS last_seen
FROM das_events
WHERE activity_class IN ('AUTH_FAILURE', 'MIXED')
  AND activityClass = 'AUTH_FAILURE'
GROUP BY dbUserName, resource_id
ORDER BY failed_logins DESC, dbUserName, resource_id
LIMIT 20
