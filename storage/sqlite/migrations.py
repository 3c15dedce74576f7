"""Numbered schema migrations, tracked by PRAGMA user_version.

Append a new entry to change the schema; never edit an applied one.
"""

MIGRATIONS: tuple[str, ...] = (
    # 1: users, clients, tasks
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        language TEXT,
        timezone TEXT,
        morning_hour INTEGER NOT NULL DEFAULT 10,
        created_at TEXT NOT NULL
    );
    CREATE TABLE clients (
        id INTEGER PRIMARY KEY,
        owner_id INTEGER NOT NULL REFERENCES users(id),
        name TEXT NOT NULL,
        name_key TEXT NOT NULL,
        contact_person TEXT,
        phone TEXT,
        email TEXT,
        channel TEXT CHECK (channel IN ('phone', 'messenger', 'email', 'task_manager')),
        report_cadence TEXT,
        emergency_contact TEXT,
        segment TEXT NOT NULL DEFAULT 'b2b' CHECK (segment IN ('b2b', 'b2c')),
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'former')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        last_used_at TEXT NOT NULL,
        deleted_at TEXT
    );
    CREATE UNIQUE INDEX clients_owner_name ON clients(owner_id, name_key)
        WHERE deleted_at IS NULL;
    CREATE INDEX clients_owner_recent ON clients(owner_id, last_used_at);
    CREATE TABLE tasks (
        id INTEGER PRIMARY KEY,
        owner_id INTEGER NOT NULL REFERENCES users(id),
        number INTEGER NOT NULL,
        client_id INTEGER REFERENCES clients(id),
        text TEXT NOT NULL,
        kind TEXT NOT NULL
            CHECK (kind IN ('call', 'report', 'invoice', 'meeting', 'document', 'other')),
        due_at TEXT,
        status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'deleted')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        done_at TEXT,
        deleted_at TEXT,
        UNIQUE (owner_id, number)
    );
    CREATE INDEX tasks_owner_status_due ON tasks(owner_id, status, due_at);
    CREATE INDEX tasks_client_status ON tasks(client_id, status);
    CREATE INDEX tasks_owner_done ON tasks(owner_id, done_at) WHERE status = 'done';
    """,
    # 2: dialog state (what a multi-step dialog waits for, names behind buttons), so that a
    # restart in the middle of a dialog loses nothing
    """
    CREATE TABLE dialog_states (
        key TEXT PRIMARY KEY,
        owner_id INTEGER NOT NULL,
        state TEXT,
        data TEXT NOT NULL DEFAULT '{}',
        updated_at TEXT NOT NULL
    );
    CREATE INDEX dialog_states_owner ON dialog_states(owner_id);
    """,
    # 3: a client's deletion hides its tasks by marking them, so task queries need no join
    # to clients to know what is visible (and a restore brings back exactly those)
    """
    ALTER TABLE tasks ADD COLUMN hidden_with_client INTEGER NOT NULL DEFAULT 0;
    """,
    # 4: reminders. Each pending reminder is a row; a sender claims it before sending and
    # marks it sent after, so a restart repeats at most the one in flight. for_due_at is the
    # task's due moment the reminder was planned for: if the task moved since, it is stale.
    """
    ALTER TABLE users ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE users ADD COLUMN work_start_minute INTEGER NOT NULL DEFAULT 540;
    ALTER TABLE users ADD COLUMN work_end_minute INTEGER NOT NULL DEFAULT 1140;
    ALTER TABLE users ADD COLUMN work_days TEXT NOT NULL DEFAULT '0,1,2,3,4';
    ALTER TABLE tasks ADD COLUMN remind_ahead_minutes INTEGER;
    ALTER TABLE tasks ADD COLUMN done_seq INTEGER;
    CREATE TABLE reminders (
        id INTEGER PRIMARY KEY,
        owner_id INTEGER NOT NULL REFERENCES users(id),
        task_id INTEGER NOT NULL REFERENCES tasks(id),
        purpose TEXT NOT NULL CHECK (purpose IN ('ahead', 'due', 'followup', 'snooze')),
        fire_at TEXT NOT NULL,
        for_due_at TEXT,
        held_over_from TEXT,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'claimed', 'sent', 'cancelled', 'failed')),
        claim_token TEXT,
        claimed_at TEXT,
        sent_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE INDEX reminders_pending ON reminders(status, fire_at);
    CREATE INDEX reminders_task ON reminders(task_id, status);
    """,
    # 5: recurring series. A rule in the user's wall-clock time; each occurrence is a task
    # of its own (series_id, occurrence_at), unique, so no worker creates one twice.
    """
    CREATE TABLE series (
        id INTEGER PRIMARY KEY,
        owner_id INTEGER NOT NULL REFERENCES users(id),
        client_id INTEGER REFERENCES clients(id),
        text TEXT NOT NULL,
        kind TEXT NOT NULL,
        rule TEXT NOT NULL,
        timezone TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT 'user' CHECK (source IN ('user', 'cadence')),
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'stopped')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX series_owner ON series(owner_id, status);
    ALTER TABLE tasks ADD COLUMN series_id INTEGER REFERENCES series(id);
    ALTER TABLE tasks ADD COLUMN occurrence_at TEXT;
    CREATE UNIQUE INDEX tasks_series_occurrence ON tasks(series_id, occurrence_at)
        WHERE series_id IS NOT NULL AND status != 'deleted';
    """,
    # 6: the daily digest. digest_next_at is when the next one is due (UTC); a sender
    # claims it by moving it forward in one UPDATE, so each digest goes out once.
    """
    ALTER TABLE users ADD COLUMN digest_enabled INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE users ADD COLUMN digest_minute INTEGER NOT NULL DEFAULT 540;
    ALTER TABLE users ADD COLUMN digest_next_at TEXT;
    ALTER TABLE users ADD COLUMN telegram_language TEXT;
    CREATE INDEX users_digest_next ON users(digest_next_at) WHERE digest_enabled = 1;
    """,
    # 7: invoices. Money as integer minor units with an ISO currency code. Each unpaid
    # invoice has a payment task (kind invoice) whose reminders follow the payment ladder.
    """
    CREATE TABLE invoices (
        id INTEGER PRIMARY KEY,
        owner_id INTEGER NOT NULL REFERENCES users(id),
        client_id INTEGER NOT NULL REFERENCES clients(id),
        number INTEGER NOT NULL,
        amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
        paid_minor INTEGER NOT NULL DEFAULT 0 CHECK (paid_minor >= 0),
        currency TEXT NOT NULL,
        due_at TEXT NOT NULL,
        promised_at TEXT,
        note TEXT,
        status TEXT NOT NULL DEFAULT 'unpaid' CHECK (status IN ('unpaid', 'paid', 'cancelled')),
        paid_at TEXT,
        task_id INTEGER REFERENCES tasks(id),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (owner_id, number)
    );
    CREATE INDEX invoices_owner_status ON invoices(owner_id, status, due_at);
    ALTER TABLE tasks ADD COLUMN invoice_id INTEGER REFERENCES invoices(id);
    """,
    # 8: notes, and one full-text index over notes, tasks and clients. Triggers keep it in
    # step with every write. The rowid encodes kind and id (id * 4 + kind) so a row is
    # replaced without a scan; the owner is an indexed token so a search never leaves the
    # owner's rows; ё is folded to е here, case by the unicode61 tokenizer.
    """
    CREATE TABLE notes (
        id INTEGER PRIMARY KEY,
        owner_id INTEGER NOT NULL REFERENCES users(id),
        client_id INTEGER REFERENCES clients(id),
        text TEXT NOT NULL DEFAULT '',
        source_message_id INTEGER,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        deleted_at TEXT
    );
    CREATE INDEX notes_owner_created ON notes(owner_id, created_at);
    CREATE INDEX notes_client_created ON notes(client_id, created_at);
    CREATE INDEX notes_source ON notes(owner_id, source_message_id);
    CREATE VIRTUAL TABLE search_index USING fts5(
        owner, body, tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER notes_index_insert AFTER INSERT ON notes WHEN new.deleted_at IS NULL BEGIN
        INSERT INTO search_index (rowid, owner, body) VALUES
            (new.id * 4 + 1, 'o' || new.owner_id,
             replace(replace(new.text, 'ё', 'е'), 'Ё', 'Е'));
    END;
    CREATE TRIGGER notes_index_update AFTER UPDATE ON notes BEGIN
        DELETE FROM search_index WHERE rowid = old.id * 4 + 1;
        INSERT INTO search_index (rowid, owner, body)
            SELECT new.id * 4 + 1, 'o' || new.owner_id,
                   replace(replace(new.text, 'ё', 'е'), 'Ё', 'Е')
            WHERE new.deleted_at IS NULL;
    END;
    CREATE TRIGGER tasks_index_insert AFTER INSERT ON tasks WHEN new.status != 'deleted' BEGIN
        INSERT INTO search_index (rowid, owner, body) VALUES
            (new.id * 4 + 2, 'o' || new.owner_id,
             replace(replace(new.text, 'ё', 'е'), 'Ё', 'Е'));
    END;
    CREATE TRIGGER tasks_index_update AFTER UPDATE OF text, status ON tasks BEGIN
        DELETE FROM search_index WHERE rowid = old.id * 4 + 2;
        INSERT INTO search_index (rowid, owner, body)
            SELECT new.id * 4 + 2, 'o' || new.owner_id,
                   replace(replace(new.text, 'ё', 'е'), 'Ё', 'Е')
            WHERE new.status != 'deleted';
    END;
    CREATE TRIGGER clients_index_insert AFTER INSERT ON clients BEGIN
        INSERT INTO search_index (rowid, owner, body) VALUES
            (new.id * 4 + 3, 'o' || new.owner_id, replace(replace(
                new.name || ' ' || coalesce(new.contact_person, '') || ' '
                || coalesce(new.phone, '') || ' ' || coalesce(new.email, ''),
                'ё', 'е'), 'Ё', 'Е'));
    END;
    CREATE TRIGGER clients_index_update AFTER UPDATE ON clients BEGIN
        DELETE FROM search_index WHERE rowid = old.id * 4 + 3;
        INSERT INTO search_index (rowid, owner, body)
            SELECT new.id * 4 + 3, 'o' || new.owner_id, replace(replace(
                new.name || ' ' || coalesce(new.contact_person, '') || ' '
                || coalesce(new.phone, '') || ' ' || coalesce(new.email, ''),
                'ё', 'е'), 'Ё', 'Е')
            WHERE new.deleted_at IS NULL;
    END;
    INSERT INTO search_index (rowid, owner, body)
        SELECT id * 4 + 2, 'o' || owner_id, replace(replace(text, 'ё', 'е'), 'Ё', 'Е')
        FROM tasks WHERE status != 'deleted';
    INSERT INTO search_index (rowid, owner, body)
        SELECT id * 4 + 3, 'o' || owner_id, replace(replace(
            name || ' ' || coalesce(contact_person, '') || ' ' || coalesce(phone, '') || ' '
            || coalesce(email, ''), 'ё', 'е'), 'Ё', 'Е')
        FROM clients WHERE deleted_at IS NULL;
    """,
    # 9: media and forwarded notes; client aliases and the contact's Telegram account,
    # used to attach notes and forwards to the right client.
    """
    ALTER TABLE notes ADD COLUMN media_type TEXT;
    ALTER TABLE notes ADD COLUMN file_id TEXT;
    ALTER TABLE notes ADD COLUMN duration INTEGER;
    ALTER TABLE notes ADD COLUMN file_size INTEGER;
    ALTER TABLE notes ADD COLUMN forward_from TEXT;
    ALTER TABLE notes ADD COLUMN forward_date TEXT;
    ALTER TABLE clients ADD COLUMN contact_telegram TEXT;
    ALTER TABLE clients ADD COLUMN aliases TEXT NOT NULL DEFAULT '';
    CREATE TABLE client_aliases (
        owner_id INTEGER NOT NULL REFERENCES users(id),
        client_id INTEGER NOT NULL REFERENCES clients(id),
        alias TEXT NOT NULL,
        alias_key TEXT NOT NULL,
        PRIMARY KEY (owner_id, alias_key)
    );
    CREATE INDEX client_aliases_client ON client_aliases(client_id);
    DROP TRIGGER clients_index_insert;
    DROP TRIGGER clients_index_update;
    CREATE TRIGGER clients_index_insert AFTER INSERT ON clients BEGIN
        INSERT INTO search_index (rowid, owner, body) VALUES
            (new.id * 4 + 3, 'o' || new.owner_id, replace(replace(
                new.name || ' ' || new.aliases || ' ' || coalesce(new.contact_person, '')
                || ' ' || coalesce(new.phone, '') || ' ' || coalesce(new.email, '') || ' '
                || coalesce(new.contact_telegram, ''), 'ё', 'е'), 'Ё', 'Е'));
    END;
    CREATE TRIGGER clients_index_update AFTER UPDATE ON clients BEGIN
        DELETE FROM search_index WHERE rowid = old.id * 4 + 3;
        INSERT INTO search_index (rowid, owner, body)
            SELECT new.id * 4 + 3, 'o' || new.owner_id, replace(replace(
                new.name || ' ' || new.aliases || ' ' || coalesce(new.contact_person, '')
                || ' ' || coalesce(new.phone, '') || ' ' || coalesce(new.email, '') || ' '
                || coalesce(new.contact_telegram, ''), 'ё', 'е'), 'Ё', 'Е')
            WHERE new.deleted_at IS NULL;
    END;
    """,
    # 10: a note written as a reply to a task's message belongs to that task.
    """
    ALTER TABLE notes ADD COLUMN task_id INTEGER REFERENCES tasks(id);
    """,
    # 11: a user's own "remind ahead" defaults per kind ("call=30,report=2880").
    """
    ALTER TABLE users ADD COLUMN ahead_defaults TEXT NOT NULL DEFAULT '';
    """,
    # 12: re-index only when indexed columns change, not on every touch of last_used_at.
    """
    DROP TRIGGER clients_index_update;
    CREATE TRIGGER clients_index_update AFTER UPDATE OF name, aliases, contact_person, phone,
            email, contact_telegram, deleted_at ON clients BEGIN
        DELETE FROM search_index WHERE rowid = old.id * 4 + 3;
        INSERT INTO search_index (rowid, owner, body)
            SELECT new.id * 4 + 3, 'o' || new.owner_id, replace(replace(
                new.name || ' ' || new.aliases || ' ' || coalesce(new.contact_person, '')
                || ' ' || coalesce(new.phone, '') || ' ' || coalesce(new.email, '') || ' '
                || coalesce(new.contact_telegram, ''), 'ё', 'е'), 'Ё', 'Е')
            WHERE new.deleted_at IS NULL;
    END;
    DROP TRIGGER notes_index_update;
    CREATE TRIGGER notes_index_update AFTER UPDATE OF text, deleted_at ON notes BEGIN
        DELETE FROM search_index WHERE rowid = old.id * 4 + 1;
        INSERT INTO search_index (rowid, owner, body)
            SELECT new.id * 4 + 1, 'o' || new.owner_id,
                   replace(replace(new.text, 'ё', 'е'), 'Ё', 'Е')
            WHERE new.deleted_at IS NULL;
    END;
    """,
    # 13: teams and urgent alerts. A user belongs to at most one team; an alert belongs to a
    # team or (without one) to a user, its "scope". The engine acts on an alert when next_at
    # comes (page, repeat, escalate, re-trigger), claiming it first like a reminder. An open
    # alert's dedup key is unique in its scope, so a burst of duplicates is one alert.
    """
    ALTER TABLE users ADD COLUMN username TEXT;
    ALTER TABLE users ADD COLUMN full_name TEXT;
    ALTER TABLE users ADD COLUMN backup_id INTEGER REFERENCES users(id);
    ALTER TABLE users ADD COLUMN intake_secret TEXT;
    CREATE INDEX users_username ON users(lower(username));
    CREATE TABLE teams (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        lead_id INTEGER NOT NULL REFERENCES users(id),
        intake_secret TEXT NOT NULL,
        escalate_to_all INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL
    );
    CREATE TABLE team_members (
        user_id INTEGER PRIMARY KEY REFERENCES users(id),
        team_id INTEGER NOT NULL REFERENCES teams(id),
        joined_at TEXT NOT NULL
    );
    CREATE INDEX team_members_team ON team_members(team_id);
    CREATE TABLE team_invites (
        code TEXT PRIMARY KEY,
        team_id INTEGER NOT NULL REFERENCES teams(id),
        created_by INTEGER NOT NULL REFERENCES users(id),
        expires_at TEXT NOT NULL,
        used_by INTEGER REFERENCES users(id),
        used_at TEXT
    );
    CREATE TABLE handovers (
        id INTEGER PRIMARY KEY,
        owner_id INTEGER NOT NULL REFERENCES users(id),
        client_id INTEGER REFERENCES clients(id),
        to_user_id INTEGER NOT NULL REFERENCES users(id),
        starts_at TEXT NOT NULL,
        ends_at TEXT NOT NULL,
        cancelled_at TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX handovers_owner ON handovers(owner_id, ends_at);
    CREATE INDEX handovers_to ON handovers(to_user_id, ends_at);
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        scope TEXT NOT NULL,
        team_id INTEGER REFERENCES teams(id),
        owner_id INTEGER REFERENCES users(id),
        client_id INTEGER REFERENCES clients(id),
        client_label TEXT,
        text TEXT NOT NULL,
        severity TEXT NOT NULL CHECK (severity IN ('urgent', 'normal')),
        dedup_key TEXT,
        source TEXT NOT NULL CHECK (source IN ('chat', 'intake')),
        raised_by INTEGER REFERENCES users(id),
        state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acked', 'resolved')),
        count INTEGER NOT NULL DEFAULT 1,
        last_seen_at TEXT NOT NULL,
        step INTEGER NOT NULL DEFAULT 0,
        step_rounds INTEGER NOT NULL DEFAULT 0,
        rounds INTEGER NOT NULL DEFAULT 0,
        gave_up INTEGER NOT NULL DEFAULT 0,
        next_at TEXT,
        claim_token TEXT,
        claimed_at TEXT,
        acked_by INTEGER REFERENCES users(id),
        acked_at TEXT,
        resolved_by INTEGER REFERENCES users(id),
        resolved_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX alerts_next ON alerts(next_at) WHERE next_at IS NOT NULL;
    CREATE INDEX alerts_scope ON alerts(scope, state, created_at);
    CREATE UNIQUE INDEX alerts_open_dedup ON alerts(scope, dedup_key)
        WHERE dedup_key IS NOT NULL AND state != 'resolved';
    CREATE TABLE alert_pages (
        alert_id INTEGER NOT NULL REFERENCES alerts(id),
        user_id INTEGER NOT NULL REFERENCES users(id),
        message_id INTEGER,
        step INTEGER NOT NULL,
        first_at TEXT NOT NULL,
        PRIMARY KEY (alert_id, user_id)
    );
    CREATE TABLE alert_events (
        id INTEGER PRIMARY KEY,
        alert_id INTEGER NOT NULL REFERENCES alerts(id),
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        actor_id INTEGER,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX alert_events_alert ON alert_events(alert_id, id);
    """,
    # Telegram updates already applied (idempotency): recorded in the transaction of the
    # update's first write, so a redelivered update_id is skipped; pruned after a week.
    """
    CREATE TABLE applied_updates (
        bot_id INTEGER NOT NULL,
        update_id INTEGER NOT NULL,
        applied_at TEXT NOT NULL,
        PRIMARY KEY (bot_id, update_id)
    ) WITHOUT ROWID;
    CREATE INDEX applied_updates_at ON applied_updates(applied_at);
    """,
    # The intake address an alert came through (`t12`, `u5`), so the open alerts of one
    # address can be counted and capped (INTAKE_MAX_OPEN); NULL for /urgent.
    """
    ALTER TABLE alerts ADD COLUMN intake_address TEXT;
    CREATE INDEX alerts_open_by_address ON alerts(intake_address)
        WHERE intake_address IS NOT NULL AND state != 'resolved';
    """,
    # The user's currency for new invoices (/currency; NULL: their timezone's country's),
    # and what an invoice had been paid before the payment that closed it (undo "paid").
    """
    ALTER TABLE users ADD COLUMN currency TEXT;
    ALTER TABLE invoices ADD COLUMN paid_minor_before INTEGER NOT NULL DEFAULT 0;
    """,
    # A moment the user typed fires then: reminders of such moments (not a series' or an
    # invoice's) that the old rule held for working hours go out at their own moment, at
    # once if it has passed ("held over from …" says what happened).
    """
    UPDATE reminders SET fire_at = held_over_from
    WHERE status = 'pending' AND held_over_from IS NOT NULL AND purpose IN ('due', 'snooze')
        AND task_id IN (SELECT id FROM tasks WHERE series_id IS NULL AND invoice_id IS NULL);
    """,
    # The calendar feed (/calendar): the secret of the user's subscription address, and the
    # version (a hash) of the feed last served with the moment it became that, so its
    # Last-Modified moves only when what it holds changes.
    """
    ALTER TABLE users ADD COLUMN calendar_secret TEXT;
    ALTER TABLE users ADD COLUMN calendar_version TEXT;
    ALTER TABLE users ADD COLUMN calendar_changed_at TEXT;
    """,
)
