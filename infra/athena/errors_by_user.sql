-- Errors by user: failed statements per user, database and exit code.
-- exitCode is the engine's own code: a SQLSTATE on PostgreSQL ("42P01"), a MySQL error number
-- ("1064"), an ORA- number (942), and 0 on SQL Server (whose exitCode is 1 on success).
-- errorMessage is null on Oracle and SQL Server.
SELECT dbUserName,
       resource_id,
       exitCode,
       count(*) AS errors,
       max(errorMessage) AS sample_error,
       max(commandText) AS sample_statement
FROM das_events
WHERE activity_class IN ('ERROR', 'MIXED')
  AND activityClass = 'ERROR'
GROUP BY dbUserName, resource_id, exitCode
ORDER BY errors DESC, dbUserName, resource_id, exitCode
LIMIT 20
