-- 3: one update of a chat at a time across workers. Within a process aiogram's event
-- isolation serialises a chat's updates; with several workers behind a proxy two quick taps
-- of one person can reach two workers at once, and must not race through a dialog. A lease
-- row per chat being handled (UNLOGGED: seconds long, worthless after a crash); an expired
-- lease (a worker killed mid-update) is taken over.

CREATE UNLOGGED TABLE chat_locks (
    key text PRIMARY KEY,
    holder text NOT NULL,
    until double precision NOT NULL  -- epoch seconds on the server's clock
);

-- Take the chat's lease for `p_seconds` if it is free or expired: true when taken.
CREATE FUNCTION am_chat_lock(p_key text, p_holder text, p_seconds double precision)
    RETURNS boolean LANGUAGE sql AS $$
    INSERT INTO chat_locks AS l (key, holder, until)
        VALUES (p_key, p_holder, extract(epoch FROM clock_timestamp()) + p_seconds)
    ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, until = excluded.until
        WHERE l.until < extract(epoch FROM clock_timestamp())
    RETURNING true
$$;
