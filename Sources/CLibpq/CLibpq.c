#include "CLibpq.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

// Every libpq function patchsync calls: name, return type, parameters, arguments.
#define PATCHSYNC_PQ_FUNCTIONS(X)                                                                       \
    X(PQconnectdbParams, PGconn *, (const char *const *a, const char *const *b, int c), (a, b, c))      \
    X(PQstatus, ConnStatusType, (const PGconn *a), (a))                                                 \
    X(PQerrorMessage, char *, (const PGconn *a), (a))                                                   \
    X(PQfinish, void, (PGconn *a), (a))                                                                 \
    X(PQsocket, int, (const PGconn *a), (a))                                                            \
    X(PQexec, PGresult *, (PGconn *a, const char *b), (a, b))                                           \
    X(PQexecParams, PGresult *,                                                                         \
      (PGconn *a, const char *b, int c, const Oid *d, const char *const *e, const int *f, const int *g, \
       int h),                                                                                          \
      (a, b, c, d, e, f, g, h))                                                                         \
    X(PQresultStatus, ExecStatusType, (const PGresult *a), (a))                                         \
    X(PQresultErrorMessage, char *, (const PGresult *a), (a))                                           \
    X(PQresultErrorField, char *, (const PGresult *a, int b), (a, b))                                   \
    X(PQntuples, int, (const PGresult *a), (a))                                                         \
    X(PQnfields, int, (const PGresult *a), (a))                                                         \
    X(PQgetvalue, char *, (const PGresult *a, int b, int c), (a, b, c))                                 \
    X(PQgetisnull, int, (const PGresult *a, int b, int c), (a, b, c))                                   \
    X(PQcmdTuples, char *, (PGresult *a), (a))                                                          \
    X(PQclear, void, (PGresult *a), (a))                                                                \
    X(PQconsumeInput, int, (PGconn *a), (a))                                                            \
    X(PQnotifies, PGnotify *, (PGconn *a), (a))                                                         \
    X(PQfreemem, void, (void *a), (a))                                                                  \
    X(PQsetNoticeProcessor, PQnoticeProcessor, (PGconn *a, PQnoticeProcessor b, void *c), (a, b, c))

#define PATCHSYNC_PQ_POINTER(name, result, parameters, arguments) static result(*pointer_##name) parameters;
PATCHSYNC_PQ_FUNCTIONS(PATCHSYNC_PQ_POINTER)

#define PATCHSYNC_PQ_WRAPPER(name, result, parameters, arguments) \
    result patchsync_##name parameters { return pointer_##name arguments; }
PATCHSYNC_PQ_FUNCTIONS(PATCHSYNC_PQ_WRAPPER)

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static int loaded;

int patchsync_pq_load(char *error, size_t error_size) {
    pthread_mutex_lock(&load_lock);
    if (loaded) {
        pthread_mutex_unlock(&load_lock);
        return 0;
    }
    void *library = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        snprintf(error, error_size, "cannot load libpq (Debian package libpq5): %s", dlerror());
        pthread_mutex_unlock(&load_lock);
        return -1;
    }
#define PATCHSYNC_PQ_RESOLVE(name, result, parameters, arguments)                              \
    *(void **)&pointer_##name = dlsym(library, #name);                                         \
    if (pointer_##name == NULL) {                                                              \
        snprintf(error, error_size, "libpq.so.5 has no function %s", #name);                   \
        pthread_mutex_unlock(&load_lock);                                                      \
        return -1;                                                                             \
    }
    PATCHSYNC_PQ_FUNCTIONS(PATCHSYNC_PQ_RESOLVE)
    loaded = 1;
    pthread_mutex_unlock(&load_lock);
    return 0;
}

static void ignore_notice(void *context, const char *message) {
    (void)context;
    (void)message;
}

void patchsync_pq_silence_notices(PGconn *conn) { pointer_PQsetNoticeProcessor(conn, ignore_notice, NULL); }
