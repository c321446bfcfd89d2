/*
 * register_client: the console of the register hosted in mamori-terminald,
 * over its API socket (`mamori register --socket PATH ...`).
 */
#ifndef MAMORI_CMD_REGISTER_CLIENT_H
#define MAMORI_CMD_REGISTER_CLIENT_H

/* argv as given to `mamori register`; returns the exit code. */
int register_client_main(int argc, char **argv);
/* True when argv asks for the API client (has --socket or --api-state). */
int register_client_wanted(int argc, char **argv);

#endif
