"""The commands people run (`cli`), the processes `up` supervises (`supervision`), and what
the commands share: the local home, the first champion, status, backfill."""
