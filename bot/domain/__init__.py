"""Pure domain logic: dates, recurrence, task lines, money, kinds, timezones, text limits,
contacts, handover cover, reminder planning rules. Nothing here imports aiogram or does
I/O; services, views and handlers build on it."""
