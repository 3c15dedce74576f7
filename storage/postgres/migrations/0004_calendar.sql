-- 4: the calendar feed (/calendar): the secret of the user's subscription address, and the
-- version (a hash) of the feed last served with the moment it became that, so its
-- Last-Modified moves only when what it holds changes.

ALTER TABLE users ADD COLUMN calendar_secret text;
ALTER TABLE users ADD COLUMN calendar_version text;
ALTER TABLE users ADD COLUMN calendar_changed_at timestamptz;
