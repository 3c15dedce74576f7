"""The calendar feed: `/calendar` gives a private address (`/cal/<id>-<secret>.ics`) that
Google Calendar, Apple Calendar and Outlook subscribe to.

- address.py: the secret and the address (made, shown, read back);
- ics.py: the calendar itself (open tasks with a time, series as RRULEs, invoice due dates),
  built from storage in the user's timezone and language;
- web.py: `add_calendar_routes`, the HTTP side (one 404 for every refusal, ETag and
  Last-Modified for cheap polling), and the log filter that keeps the secret out of logs.
"""
