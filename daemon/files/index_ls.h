/* `roam ls` in the file worker (index_ls.c). */
#ifndef ROAM_DAEMON_FILES_INDEX_LS_H
#define ROAM_DAEMON_FILES_INDEX_LS_H

struct cJSON;

/* {"t":"ls","ticket":T,"peer":node id,"name":N,"path":P?,"thumbs":bool}
 * from the monitor: answered later with {"t":"ls","ticket":T,"reply":{...}}
 * from a thread (the fetch is blocking HTTP). */
void index_ls_start(const struct cJSON *msg);

#endif
