-- A held change may come from a reflection or from a consolidation (whose
-- job_id is its run number): the kind tells which.
ALTER TABLE reviews ADD COLUMN job_kind TEXT NOT NULL DEFAULT 'reflection';
