"""Isolation through Linux namespaces directly, for machines without bubblewrap: the "namespaces" mechanism.

Started by keel.tools.sandbox as ``python -I -S -B <this file> [options] [mount operations] -- COMMAND...``
(by path, without site: nothing of site-packages runs here, and it costs a few ms less). It imports nothing
of keel and only the standard library, and takes the same mount plan keel builds for bubblewrap (the
subset of bubblewrap's options below), so both mechanisms hide and expose exactly the same paths::

    --uid N             as root: the tool's own uid (and gid), from a range no account uses
    --hostname NAME     --chdir DIR
    --perms MODE        --size BYTES       (for the next --dir or --tmpfs)
    --dir DEST          --tmpfs DEST       --ro-bind SRC DEST    --symlink TARGET DEST
    --proc DEST         --dev DEST         --remount-ro DEST

Processes, like bubblewrap's monitor, init and command (plus a short-lived helper):

- the monitor (this process, in the worker's PID namespace: the one the worker waits for and kills).
  A helper it forks first, still outside, writes the uid/gid maps of the new user namespace (as root,
  only a process outside may map uids other than its own) and exits. The monitor unshares user, mount, PID,
  network, IPC, UTS and cgroup namespaces, brings the new network namespace's loopback up (nothing
  else: no route out), and forks
- the init (PID 1 of the new PID namespace; the kernel kills every process in it when it exits). It
  builds the root: a tmpfs holding read-only recursive binds of the listed host paths (each submount
  made read-only too), a fresh /proc, a minimal /dev, the writable tmpfs dirs, the masks; pivots into
  it and detaches the host's root. It caps nested user namespaces at the one the command gets, then forks
- the command: as root, it drops to --uid (no groups); then it enters a user namespace of its own
  (nested: the tool's uid is not root anywhere it lives, and it can create no further user namespace),
  drops every capability (bounding and ambient sets too), sets no_new_privs and execs COMMAND.

Outer user namespace: as root, it maps uid/gid 0 to 0 (the setup reads and binds what root can, exactly
as bubblewrap does as root) and --uid to itself; as another user, 0 to that user. The command's kernel
uid is --uid (root) or the worker's own uid, never 0: the kernel's RLIMIT_NPROC counts its processes in
its own user namespace, and uid 0 would be exempt from it.

A setup failure prints ``keel-namespaces: <what failed>`` on stderr and exits 1; otherwise the exit code is
COMMAND's, or 128 + the signal that killed it.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
MNT_DETACH = 2
# statvfs f_flag bits -> the mount flags a remount must repeat (in a user namespace, the flags of mounts
# inherited from the host are locked: a remount that leaves one out fails).
_KEPT_FLAGS = (
    (1, MS_RDONLY),
    (2, MS_NOSUID),
    (4, MS_NODEV),
    (8, MS_NOEXEC),
    (16, MS_SYNCHRONOUS),
    (64, MS_MANDLOCK),
    (1024, MS_NOATIME),
    (2048, MS_NODIRATIME),
    (4096, MS_RELATIME),
)

SIGKILL = 9  # not from `signal`: importing it (and enum) costs the setup a few ms
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1

# glibc has no pivot_root(); its syscall number per architecture (os.uname().machine).
_SYS_PIVOT_ROOT = {
    "x86_64": 155,
    "aarch64": 41,
    "arm64": 41,
    "riscv64": 41,
    "loongarch64": 41,
    "ppc64le": 203,
    "ppc64": 203,
    "s390x": 217,
    "i686": 217,
    "i386": 217,
    "armv7l": 218,
    "armv8l": 218,
}
_DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
_BASE = "/tmp"  # where the setup mounts its scratch tmpfs (in its own mount namespace only)
_NEW = "/newroot"
_OLD = "/oldroot"

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
_libc.syscall.restype = ctypes.c_long


class SetupError(Exception):
    """A namespace, mount or identity step failed: the sandbox could not be built (not the tool's fault)."""


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(errno)}")


def _bytes(path: str | None) -> bytes | None:
    return None if path is None else os.fsencode(path)


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    result = _libc.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data))
    _check(result, f"mount {source or fstype or ''} on {target}")


def _umount(target: str) -> None:
    _check(_libc.umount2(_bytes(target), MNT_DETACH), f"umount {target}")


def _prctl(option: int, arg: int = 0) -> int:
    ulong = ctypes.c_ulong
    return int(_libc.prctl(ctypes.c_int(option), ulong(arg), ulong(0), ulong(0), ulong(0)))


def _unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def _pivot_root(new_root: str, put_old: str) -> None:
    number = _SYS_PIVOT_ROOT.get(os.uname().machine)
    if number is None:
        raise SetupError(f"pivot_root: unknown syscall number on {os.uname().machine}")
    result = _libc.syscall(ctypes.c_long(number), _bytes(new_root), _bytes(put_old))
    _check(int(result), f"pivot_root {new_root}")


def _write(path: str, text: str) -> None:
    """One write(2): the kernel takes a uid or gid map only whole, in a single write."""
    try:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)
    except OSError as exc:
        raise SetupError(f"write {path}: {exc.strerror}") from None


# --- the mount plan ----------------------------------------------------------------------------------


class Plan:
    def __init__(self) -> None:
        self.uid: int | None = None
        self.hostname = "sandbox"
        self.chdir = "/"
        self.ops: list[tuple[str, ...]] = []  # (operation, mode, size, *paths)
        self.command: list[str] = []


def parse(argv: list[str]) -> Plan:
    plan = Plan()
    perms, size = "", ""
    arity = {"--dir": 1, "--tmpfs": 1, "--proc": 1, "--dev": 1, "--remount-ro": 1, "--ro-bind": 2, "--symlink": 2}
    i = 0
    while i < len(argv):
        option = argv[i]
        if option == "--":
            plan.command = argv[i + 1 :]
            break
        if option in ("--uid", "--hostname", "--chdir", "--perms", "--size") and i + 1 < len(argv):
            value = argv[i + 1]
            if option == "--uid":
                plan.uid = int(value)
            elif option == "--hostname":
                plan.hostname = value
            elif option == "--chdir":
                plan.chdir = value
            elif option == "--perms":
                perms = value
            else:
                size = value
            i += 2
            continue
        count = arity.get(option)
        if count is None or i + count >= len(argv):
            raise SetupError(f"bad argument {option!r}")
        plan.ops.append((option, perms, size, *argv[i + 1 : i + 1 + count]))
        perms, size = "", ""
        i += 1 + count
    if not plan.command:
        raise SetupError("no command after --")
    return plan


def _inside(path: str) -> str:
    return _NEW + "/" + path.lstrip("/") if path != "/" else _NEW


def _make_dirs(path: str, mode: int = 0o755) -> None:
    """mkdir -p, each new directory with `mode` whatever the umask."""
    missing = []
    while not os.path.lexists(path):
        missing.append(path)
        path = os.path.dirname(path)
    for directory in reversed(missing):
        os.mkdir(directory)
        os.chmod(directory, mode)


def _mount_point(dest: str, source: str) -> None:
    """An empty directory or file at `dest`, as `source` is one or the other."""
    if os.path.lexists(dest):
        return
    _make_dirs(os.path.dirname(dest))
    if os.path.isdir(source):
        os.mkdir(dest, 0o755)
    else:
        os.close(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444))


def _flags_of(path: str) -> int:
    kept = os.statvfs(path).f_flag
    return sum(flag for bit, flag in _KEPT_FLAGS if kept & bit)


def _remount_ro(path: str) -> None:
    _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | _flags_of(path))


def _submounts(path: str) -> list[str]:
    """Mount points below `path` (its recursive bind brought them along), outermost first."""
    found = []
    with open(_OLD + "/proc/self/mountinfo", "rb") as mountinfo:
        for line in mountinfo:
            point = os.fsdecode(_unescape(line.split(b" ")[4]))
            if point.startswith(path + "/"):
                found.append(point)
    return sorted(set(found), key=lambda p: p.count("/"))


def _unescape(field: bytes) -> bytes:
    """A mountinfo path: the kernel writes space, tab, newline and backslash as octal escapes."""
    for escaped, raw in ((b"\\040", b" "), (b"\\011", b"\t"), (b"\\012", b"\n"), (b"\\134", b"\\")):
        field = field.replace(escaped, raw)
    return field


def _ro_bind(source: str, dest: str) -> None:
    _mount_point(dest, source)
    _mount(source, dest, None, MS_BIND | MS_REC)
    for path in (dest, *_submounts(dest)):
        try:
            _remount_ro(path)
        except (SetupError, OSError) as exc:
            if path == dest:
                raise SetupError(f"read-only remount of {dest}: {exc}") from None
            # A submount this process cannot even stat (another user's FUSE mount): the tool cannot
            # reach it either.


def _proc(dest: str) -> None:
    _make_dirs(dest)
    _mount("proc", dest, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    # One user namespace (the command's own, created below) is all this one may hold: the tool can
    # create none (bubblewrap's --disable-userns). Per user namespace: the host's limit is untouched.
    _write(dest + "/sys/user/max_user_namespaces", "1")
    for name in ("sys", "sysrq-trigger", "irq", "bus"):
        path = f"{dest}/{name}"
        if os.path.exists(path):
            _mount(path, path, None, MS_BIND | MS_REC)
            _remount_ro(path)


def _dev(dest: str) -> None:
    _make_dirs(dest)
    _mount("tmpfs", dest, "tmpfs", MS_NOSUID, "mode=0755")
    for name in _DEVICES:
        source = f"{_OLD}/dev/{name}"
        if os.path.exists(source):
            _mount_point(f"{dest}/{name}", source)
            _mount(source, f"{dest}/{name}", None, MS_BIND)
    for name, target in (("stdin", "0"), ("stdout", "1"), ("stderr", "2")):
        os.symlink(f"/proc/self/fd/{target}", f"{dest}/{name}")
    os.symlink("/proc/self/fd", f"{dest}/fd")
    os.symlink("/proc/kcore", f"{dest}/core")
    os.mkdir(f"{dest}/shm", 0o755)
    os.mkdir(f"{dest}/pts", 0o755)
    _mount("devpts", f"{dest}/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")
    os.symlink("pts/ptmx", f"{dest}/ptmx")


def _apply(op: tuple[str, ...], sources: dict[str, str]) -> None:
    option, perms, size = op[:3]
    mode = int(perms, 8) if perms else 0o755
    if option == "--ro-bind":
        _ro_bind(_OLD + sources[op[3]], _inside(op[4]))
    elif option == "--tmpfs":
        dest = _inside(op[3])
        _make_dirs(dest)
        data = f"mode={mode:o}" + (f",size={int(size)}" if size else "")
        _mount("tmpfs", dest, "tmpfs", MS_NOSUID | MS_NODEV, data)
    elif option == "--dir":
        dest = _inside(op[3])
        _make_dirs(dest, mode)
        os.chmod(dest, mode)
    elif option == "--symlink":
        dest = _inside(op[4])
        _make_dirs(os.path.dirname(dest))
        os.symlink(op[3], dest)
    elif option == "--proc":
        _proc(_inside(op[3]))
    elif option == "--dev":
        _dev(_inside(op[3]))
    elif option == "--remount-ro":
        _remount_ro(_inside(op[3]))


def build_root(plan: Plan) -> None:
    """Make the sandbox's root from the plan and pivot into it, leaving nothing of the host's mounted."""
    # Nothing propagates back to the host's mounts, nor from them into the sandbox.
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    # Resolved while the host's root is still "/": an absolute symlink on a path would otherwise be
    # followed inside the scratch root.
    sources = {op[3]: os.path.realpath(op[3]) for op in plan.ops if op[0] == "--ro-bind"}
    _mount("tmpfs", _BASE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    os.mkdir(_BASE + _NEW, 0o755)
    os.mkdir(_BASE + _OLD, 0o755)
    _pivot_root(_BASE, _BASE + _OLD)
    os.chdir("/")
    _mount("tmpfs", _NEW, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=4m")
    for op in plan.ops:
        try:
            _apply(op, sources)
        except OSError as exc:
            raise SetupError(f"{' '.join(op[:1] + op[3:])}: {exc.strerror or exc}") from None
    _umount(_OLD)
    os.chdir(_NEW)
    _pivot_root(".", ".")
    _umount(".")  # the scratch root, stacked on the new one by pivot_root(".", ".")
    os.chdir("/")


# --- the processes -----------------------------------------------------------------------------------


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _write_maps(pid: int, uid: int | None, real_uid: int, real_gid: int) -> None:
    """From outside: the outer user namespace's maps (see the module docstring)."""
    if uid is not None:
        uids = gids = f"0 0 1\n{uid} {uid} 1\n"
    else:
        _write(f"/proc/{pid}/setgroups", "deny")
        uids, gids = f"0 {real_uid} 1\n", f"0 {real_gid} 1\n"
    _write(f"/proc/{pid}/uid_map", uids)
    _write(f"/proc/{pid}/gid_map", gids)


def enter_namespaces(plan: Plan) -> None:
    """Unshare every namespace, with the outer user namespace's maps written by a helper still outside."""
    uid, real_uid, real_gid, pid = plan.uid, os.getuid(), os.getgid(), os.getpid()
    go_r, go_w = os.pipe()
    err_r, err_w = os.pipe()
    helper = os.fork()
    if helper == 0:
        code = 1
        try:
            os.close(go_w)
            os.close(err_r)
            if os.read(go_r, 1) == b"1":  # b"": the unshare failed
                _write_maps(pid, uid, real_uid, real_gid)
            code = 0
        except BaseException as exc:  # noqa: BLE001 - whatever it is, the monitor reports it
            os.write(err_w, str(exc).encode() or type(exc).__name__.encode())
        finally:
            os._exit(code)
    os.close(go_r)
    os.close(err_w)
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    try:
        if _libc.unshare(ctypes.c_int(flags | CLONE_NEWCGROUP)) != 0:
            try:
                _unshare(flags)  # a kernel without cgroup namespaces
            except SetupError as exc:
                raise SetupError(
                    f"cannot create a user namespace and the others ({exc}): user namespaces are disabled or "
                    "used up here (sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone, "
                    "kernel.apparmor_restrict_unprivileged_userns, or a container's seccomp profile)"
                ) from None
        os.write(go_w, b"1")
    finally:
        os.close(go_w)  # an unshare that failed: the helper reads EOF and leaves
        error = os.read(err_r, 4096).decode(errors="replace")
        os.close(err_r)
        os.waitpid(helper, 0)
    if error:
        raise SetupError(f"user namespace maps: {error}")
    sethostname = _libc.sethostname
    name = plan.hostname.encode()
    _check(sethostname(name, ctypes.c_size_t(len(name))), "sethostname")
    _loopback_up()


def _loopback_up() -> None:
    import _socket

    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:
        request = b"lo".ljust(16, b"\0") + bytes(24)
        flags = int.from_bytes(fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, request)[16:18], sys.byteorder)
        fcntl.ioctl(
            sock.fileno(),
            SIOCSIFFLAGS,
            b"lo".ljust(16, b"\0") + (flags | IFF_UP).to_bytes(2, sys.byteorder) + bytes(22),
        )
    except OSError as exc:
        raise SetupError(f"loopback: {exc.strerror}") from None
    finally:
        sock.close()


def become_command(plan: Plan, real_uid: int, real_gid: int) -> None:
    """In the new root: take the command's identity, in a user namespace of its own, then exec it."""
    if plan.uid is not None:
        os.setgroups([])
        os.setresgid(plan.uid, plan.uid, plan.uid)
        os.setresuid(plan.uid, plan.uid, plan.uid)
        # The uid change made the process undumpable, which leaves its /proc/self files to root: the
        # maps below could not be written. It execs the tool next, which makes it dumpable anyway.
        _check(_prctl(PR_SET_DUMPABLE, 1), "set dumpable")
        inner_uid, inner_gid = plan.uid, plan.uid
    else:
        inner_uid, inner_gid = real_uid, real_gid
    outer_uid, outer_gid = os.getuid(), os.getgid()
    _unshare(CLONE_NEWUSER)
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{inner_uid} {outer_uid} 1\n")
    _write("/proc/self/gid_map", f"{inner_gid} {outer_gid} 1\n")
    with open("/proc/sys/kernel/cap_last_cap") as last:
        for cap in range(int(last.read()) + 1):
            _check(_prctl(PR_CAPBSET_DROP, cap), f"dropping capability {cap} from the bounding set")
    _check(_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL), "clearing ambient capabilities")
    _check(_prctl(PR_SET_NO_NEW_PRIVS, 1), "no_new_privs")
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(_libc.capset(header, data), "capset")
    os.chdir(plan.chdir)
    try:
        os.execve(plan.command[0], plan.command, os.environ)
    except OSError as exc:
        raise SetupError(f"exec {plan.command[0]}: {exc.strerror}") from None


def _close_all() -> None:
    os.closerange(0, os.sysconf("SC_OPEN_MAX"))


def main(argv: list[str]) -> None:
    real_uid, real_gid = os.getuid(), os.getgid()
    plan = parse(argv)
    if real_uid == 0 and plan.uid in (None, 0):
        raise SetupError("running as root, --uid must name the command's own (non-zero) uid")
    _prctl(PR_SET_PDEATHSIG, SIGKILL)  # the worker died: so does the sandbox
    enter_namespaces(plan)
    init = os.fork()
    if init:
        _close_all()  # the worker sees its pipes close when the command's side is done with them
        _, status = os.waitpid(init, 0)
        os._exit(_exit_code(status))
    # PID 1 of the new PID namespace.
    _prctl(PR_SET_PDEATHSIG, SIGKILL)
    try:
        build_root(plan)
        command = os.fork()
        if command == 0:
            become_command(plan, real_uid, real_gid)
    except (SetupError, OSError) as exc:
        _fail(exc)
    _close_all()
    while True:
        try:
            pid, status = os.wait()  # reaps orphans of the sandbox too
        except KeyboardInterrupt:
            continue  # a SIGINT from inside the sandbox (Python's handler): init ignores it
        if pid == command:
            os._exit(_exit_code(status))


def _fail(exc: BaseException) -> None:
    message = str(exc) if isinstance(exc, SetupError) else f"{type(exc).__name__}: {exc}"
    try:
        os.write(2, f"keel-namespaces: {message}\n".encode(errors="replace"))
    finally:
        os._exit(1)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except BaseException as exc:  # noqa: BLE001 - any setup failure is reported the same way
        _fail(exc)
