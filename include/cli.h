/* cli.h: operator commands: admin create-user, audit verify */
#ifndef CLI_H
#define CLI_H

struct conf;

/* `tollgate admin SUBCOMMAND ...`; exit code. */
int cli_admin(const struct conf *, int argc, char **argv);
/* `tollgate audit verify`; exit code. */
int cli_audit(const struct conf *, int argc, char **argv);

#endif
