-- pyatlas-store schema, version 7: the verdicts of a project's own
-- contracts (import-linter's, tach's), as the graph crate's
-- `ContractsReport`; NULL when the project declares none.
ALTER TABLE runs ADD COLUMN contracts jsonb;
