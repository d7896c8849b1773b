-- Latest DDL: the newest schema and privilege changes.
-- Aurora MySQL AUX events repeat the MAIN statement's object (their commandText is just its
-- name): keep the statements. Every engine writes logTime as "YYYY-MM-DD HH:MM:SS.f..." in UTC,
-- so text order is time order.
SELECT logTime,
       resource_id,
       dbUserName,
       databaseName,
       command,
       commandText
FROM das_events
WHERE activity_class IN ('DDL', 'MIXED')
  AND activityClass = 'DDL'
  AND coalesce(class, '') <> 'AUX'
ORDER BY logTime DESC, eventId
LIMIT 20
