-- Every registered product line, latest version of each.
SELECT id, name, cost_center, owner, budget_owner, billing_mode, toString(updated_at) AS updated_at
FROM product_lines FINAL
ORDER BY id
SETTINGS log_comment = 'taxonomy.list'
