"""Small services used by handlers: dates, kinds, timezones, rendering."""
