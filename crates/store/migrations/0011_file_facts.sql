-- Schema 11: what a pipeline keeps of each file to reuse its work in a
-- later process (opaque to the store; NULL: nothing kept). It lives and
-- is carried with the file's row.
ALTER TABLE file_rows ADD COLUMN facts bytea;
