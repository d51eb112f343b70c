-- How many quarantine records each reason holds (for the summary above the list).
SELECT reason, disposition, count() AS records
FROM quarantine FINAL
GROUP BY reason, disposition
ORDER BY records DESC, reason
