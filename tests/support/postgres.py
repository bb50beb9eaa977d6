"""A private PostgreSQL cluster for the tests: initdb into a temporary directory, a Unix socket
there, no TCP; as the postgres user when the tests run as root. Never a server already running."""
import itertools
import json
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")


class PostgresCluster:
    def __init__(self, durable=False):
        """`durable`: fsync on, as in production (benchmarks); tests skip it to save the disk."""
        self.durable = durable
        self.scratch = Path(tempfile.mkdtemp(prefix="patchsync-pg-"))
        self.data = self.scratch / "data"
        self.port = 54000 + os.getpid() % 1000
        self._names = itertools.count(1)
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.scratch, user.pw_uid, user.pw_gid)
        self._run(BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()

    def _run(self, *command, check=True):
        command = [str(part) for part in command]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True)

    @property
    def url(self):
        return f"postgresql:///postgres?host={self.scratch}&port={self.port}&user=postgres"

    def start(self):
        options = f"-k {self.scratch} -p {self.port} -c listen_addresses=''"
        if not self.durable:
            options += " -c fsync=off"
        self._run(BIN / "pg_ctl", "-D", self.data, "-o", options, "-l", self.scratch / "log", "-w", "start")

    def stop(self, mode="fast"):
        self._run(BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=False)

    def restart(self):
        self.stop()
        self.start()

    def cpu_seconds(self):
        """utime + stime of the postmaster and every backend it started, from /proc."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        total = 0.0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(entry) == postmaster or int(fields[1]) == postmaster:
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def new_schema(self):
        """A schema name no other test uses, so tests share the cluster without seeing each other."""
        return f"test_{os.getpid()}_{next(self._names)}"

    def sql(self, statement):
        """Runs one statement with psql; returns its rows as lists of strings."""
        # On stdin, not -c: a statement may be larger than an argument may be.
        result = subprocess.run(
            ["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", self.url],
            input=statement, capture_output=True, text=True)
        if result.returncode != 0:
            raise SqlError(result.stderr.strip())
        return [line.split("\t") for line in result.stdout.splitlines() if line]

    def close(self):
        self.stop("immediate")
        shutil.rmtree(self.scratch, ignore_errors=True)


class SqlError(Exception):
    pass


def schema_of(database):
    """The schema named in a server's database options (the `database` fixture's list)."""
    return database[database.index("--database-schema") + 1]


def sql_state(postgres, schema, document="default"):
    """A document's version and state as SQL sees them (`current_state`)."""
    rows = postgres.sql(f"SELECT version, {schema}.current_state('{document}') FROM {schema}.documents "
                        f"WHERE name = '{document}'")
    return int(rows[0][0]), json.loads(rows[0][1])
