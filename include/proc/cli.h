/* cli.h: operator commands: admin, audit, provider, model, sweep, genkey */
/* SPDX-License-Identifier: MIT */
#ifndef CLI_H
#define CLI_H

struct conf;

/* `tollgate admin SUBCOMMAND ...`; exit code. */
int cli_admin(const struct conf *, int argc, char **argv);
/* `tollgate audit verify`; exit code. */
int cli_audit(const struct conf *, int argc, char **argv);
/* `tollgate provider add|list|key-add|key-list|key-disable ...`; exit code. */
int cli_provider(const struct conf *, int argc, char **argv);
/* `tollgate model add ...`; exit code. */
int cli_model(const struct conf *, int argc, char **argv);
/* `tollgate sweep`: settle expired holds; exit code. */
int cli_sweep(const struct conf *, int argc, char **argv);
/* ledger check [--grace S]: exit 0 the books hold, 1 the first discrepancy, 2 error */
int cli_ledger(const struct conf *, int argc, char **argv);
/* `tollgate genkey`: print a new master key; exit code. */
int cli_genkey(const struct conf *, int argc, char **argv);

#endif
