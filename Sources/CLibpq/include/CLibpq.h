#ifndef PATCHSYNC_CLIBPQ_H
#define PATCHSYNC_CLIBPQ_H

// libpq's types come from its header; its functions are reached through pointers that
// patchsync_pq_load() fills with dlopen, so that a server that names no database never maps
// libpq and the ~20 libraries it pulls in (Kerberos, LDAP, GnuTLS, ...).
// The quoted includes of libpq-fe.h resolve next to it, so no -I flag (and no pkg-config,
// which would also add -lpq) is needed.
#include <postgresql/libpq-fe.h>
#include <stddef.h>

/// Loads libpq.so.5 once. Returns 0, or -1 with a message in `error`.
int patchsync_pq_load(char *error, size_t error_size);

PGconn *patchsync_PQconnectdbParams(const char *const *keywords, const char *const *values, int expand_dbname);
ConnStatusType patchsync_PQstatus(const PGconn *conn);
char *patchsync_PQerrorMessage(const PGconn *conn);
void patchsync_PQfinish(PGconn *conn);
int patchsync_PQsocket(const PGconn *conn);
PGresult *patchsync_PQexec(PGconn *conn, const char *query);
PGresult *patchsync_PQexecParams(PGconn *conn, const char *command, int nParams, const Oid *paramTypes,
                                 const char *const *paramValues, const int *paramLengths, const int *paramFormats,
                                 int resultFormat);
ExecStatusType patchsync_PQresultStatus(const PGresult *res);
char *patchsync_PQresultErrorMessage(const PGresult *res);
char *patchsync_PQresultErrorField(const PGresult *res, int fieldcode);
int patchsync_PQntuples(const PGresult *res);
int patchsync_PQnfields(const PGresult *res);
char *patchsync_PQgetvalue(const PGresult *res, int tup_num, int field_num);
int patchsync_PQgetisnull(const PGresult *res, int tup_num, int field_num);
char *patchsync_PQcmdTuples(PGresult *res);
void patchsync_PQclear(PGresult *res);
int patchsync_PQconsumeInput(PGconn *conn);
PGnotify *patchsync_PQnotifies(PGconn *conn);
void patchsync_PQfreemem(void *ptr);
/// Drops the server's NOTICE messages (libpq prints them on stderr by default).
void patchsync_pq_silence_notices(PGconn *conn);

#endif
