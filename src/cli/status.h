/* `netbootd status`: the machines table of a running netbootd, in the terminal. */
#ifndef NETBOOTD_CLI_STATUS_H
#define NETBOOTD_CLI_STATUS_H

/* argv[0] is "status". Exit status: 0, 1 when the server cannot be asked,
 * 2 for a bad command line. */
int status_main(int argc, char **argv);

#endif
