-- 2: what several workers on one database share besides the data: the outbound pace (one
-- global slot schedule and pause, each chat's next allowed moment) and each user's flood
-- bucket. UNLOGGED (no WAL): the state is seconds long and worthless after a crash, when
-- PostgreSQL empties these tables; the functions recreate the global row when it is gone.
-- Times are seconds since the epoch on the database server's clock (clock_timestamp()), the
-- one clock every worker sees.

CREATE UNLOGGED TABLE pace_global (
    id integer PRIMARY KEY CHECK (id = 1),
    tat double precision NOT NULL,            -- GCRA: the next global slot
    paused_until double precision NOT NULL    -- a 429's retry_after holds every chat
);

CREATE UNLOGGED TABLE pace_chats (
    chat text PRIMARY KEY,
    free_at double precision NOT NULL
);
CREATE INDEX pace_chats_free_at ON pace_chats(free_at);

CREATE UNLOGGED TABLE flood_buckets (
    user_id bigint PRIMARY KEY,
    tokens double precision NOT NULL,
    stamp double precision NOT NULL,
    warned boolean NOT NULL
);
CREATE INDEX flood_buckets_stamp ON flood_buckets(stamp);

-- Take the next global slot and the chat's turn, both or neither. wait = 0: taken, send now;
-- else ask again in `wait` seconds (chat_only: only this chat must wait).
-- p_lead: a slot may be taken up to this much before it is due. A sender that sleeps until
-- its slot and then asks arrives a few milliseconds late each time (the round trip, the
-- event loop); without a lead every lateness would push all later slots back (~15 % of the
-- rate at 5 ms a send). The next slot still counts from the one due, so the schedule does
-- not drift, and the caller widens p_slot by the lead so no second holds more than its
-- share. A 429's pause and a chat's interval are never taken early.
CREATE FUNCTION am_pace_take(p_chat text, p_slot double precision, p_interval double precision,
                             p_lead double precision,
                             OUT wait double precision, OUT chat_only boolean)
    LANGUAGE plpgsql AS $$
DECLARE
    now_s double precision := extract(epoch FROM clock_timestamp());
    next_slot double precision;
    pause_end double precision;
    free double precision;
BEGIN
    INSERT INTO pace_global (id, tat, paused_until) VALUES (1, 0, 0) ON CONFLICT DO NOTHING;
    -- The row lock serialises every worker's take: ~30 a second, each a few microseconds.
    SELECT tat, paused_until INTO next_slot, pause_end FROM pace_global WHERE id = 1
        FOR UPDATE;
    IF now_s < pause_end THEN
        wait := pause_end - now_s; chat_only := false; RETURN;
    END IF;
    IF now_s < next_slot - p_lead THEN
        wait := next_slot - p_lead - now_s; chat_only := false; RETURN;
    END IF;
    SELECT free_at INTO free FROM pace_chats WHERE chat = p_chat;
    IF free IS NOT NULL AND now_s < free THEN
        wait := free - now_s; chat_only := true; RETURN;
    END IF;
    UPDATE pace_global SET tat = greatest(tat, now_s) + p_slot WHERE id = 1;
    INSERT INTO pace_chats (chat, free_at) VALUES (p_chat, now_s + p_interval)
        ON CONFLICT (chat) DO UPDATE SET free_at = excluded.free_at;
    wait := 0; chat_only := false;
END $$;

-- A 429: nothing goes out for `seconds` (a pause never shortens). Returns the pause left.
CREATE FUNCTION am_pace_pause(p_seconds double precision) RETURNS double precision
    LANGUAGE plpgsql AS $$
DECLARE
    now_s double precision := extract(epoch FROM clock_timestamp());
    left_s double precision;
BEGIN
    INSERT INTO pace_global (id, tat, paused_until) VALUES (1, 0, 0) ON CONFLICT DO NOTHING;
    UPDATE pace_global SET paused_until = greatest(paused_until, now_s + p_seconds)
        WHERE id = 1 RETURNING paused_until - now_s INTO left_s;
    RETURN left_s;
END $$;

-- Seconds until the current pause ends (<= 0: none).
CREATE FUNCTION am_pace_paused_for() RETURNS double precision
    LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT paused_until FROM pace_global WHERE id = 1)
            - extract(epoch FROM clock_timestamp()),
        0)
$$;

-- Take the user's next update token (a bucket of p_burst, refilled p_rate a second): the
-- seconds to wait for it, and whether this is the first wait of a flood episode (warn once).
CREATE FUNCTION am_flood_reserve(p_user bigint, p_burst double precision,
                                 p_rate double precision,
                                 OUT wait double precision, OUT warn boolean)
    LANGUAGE plpgsql AS $$
DECLARE
    now_s double precision := extract(epoch FROM clock_timestamp());
    b flood_buckets%ROWTYPE;
BEGIN
    INSERT INTO flood_buckets (user_id, tokens, stamp, warned)
        VALUES (p_user, p_burst, now_s, false) ON CONFLICT DO NOTHING;
    SELECT * INTO b FROM flood_buckets WHERE user_id = p_user FOR UPDATE;
    b.tokens := least(p_burst, b.tokens + greatest(0, now_s - b.stamp) * p_rate);
    IF b.tokens >= p_burst THEN
        b.warned := false;  -- calm again: a new flood is a new episode
    END IF;
    b.tokens := b.tokens - 1;
    IF b.tokens >= 0 THEN
        wait := 0; warn := false;
    ELSE
        wait := -b.tokens / p_rate; warn := NOT b.warned; b.warned := true;
    END IF;
    UPDATE flood_buckets SET tokens = b.tokens, stamp = now_s, warned = b.warned
        WHERE user_id = p_user;
END $$;
