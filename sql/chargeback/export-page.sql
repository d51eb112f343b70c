-- One page of a month's export (open month: live rows at a snapshot; closed month: the frozen statement).
SELECT {{columns}}
FROM ({{rows}})
WHERE ({environment:String} = 'all' OR x_Environment = {environment:String})
  AND ({billing_mode:String} = '' OR x_BillingMode = {billing_mode:String})
ORDER BY {{order}}
LIMIT {limit:UInt32} OFFSET {offset:UInt64}
SETTINGS date_time_output_format = 'iso', format_csv_null_representation = '', log_comment = 'chargeback.export-page'
