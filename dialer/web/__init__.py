"""The web console and HTTP API (`dialer web`): thin, on the same library as the CLI; every
call into the library goes through `dialer.web.backend`."""
