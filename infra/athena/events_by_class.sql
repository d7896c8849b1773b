-- Events by class: how many DAS events of each activity class, from how many databases.
-- activityClass is the event's own class; the activity_class partition is its record's class
-- or MIXED, so count the data column.
SELECT activityClass,
       count(*) AS events,
       count(DISTINCT resource_id) AS databases
FROM das_events
GROUP BY activityClass
ORDER BY events DESC, activityClass
