-- Quarantine records, newest first, keyset-paginated on (received_at, quarantine_id).
SELECT quarantine_id, received_at, event_id, product_line_id, disposition, reason, errors, payload
FROM quarantine FINAL
WHERE ({reason:String} = '' OR reason = {reason:String})
  AND ({disposition:String} = '' OR disposition = {disposition:String})
  AND (received_at, quarantine_id) < ({before_time:DateTime64(3, 'UTC')}, {before_id:String})
ORDER BY received_at DESC, quarantine_id DESC
LIMIT {limit:UInt32}
