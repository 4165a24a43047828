"""The commands people run (cli, up, status, demo) and the processes they supervise."""
