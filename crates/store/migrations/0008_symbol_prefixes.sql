-- pyatlas-store schema, version 8: symbol look-up by prefix. The units
-- whose lower-cased name or qualname starts with a query are a range of
-- these indexes (text_pattern_ops: LIKE 'prefix%' in any collation).
CREATE INDEX units_by_name_prefix ON units (run_id, lower(name) text_pattern_ops);
CREATE INDEX units_by_qualname_prefix ON units (run_id, lower(qualname) text_pattern_ops);
