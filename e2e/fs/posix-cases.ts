// A Python program that runs POSIX corner cases (chmod … utimensat) as root and as uid 1000 in a directory and prints what a user sees.
//
// Run as root with the directory as its argument. Every case gets a fresh subdirectory, builds its
// fixture as root, runs its action as root and again (in another subdirectory) as uid 1000 in a
// forked child without capabilities, then prints the action's result (errno name or "ok …") and
// the mode, owner, group, link count and size of every name in the subdirectory. The same program
// run on a local ext4 directory is the reference: Linux's own answers.

/** Cases whose output differs between file systems for reasons that are not bugs are not here. */
export const POSIX_CASES = `
import errno, os, re, stat, sys
base = sys.argv[1]
only = sys.argv[2] if len(sys.argv) > 2 else ''
USER = 1000
os.umask(0o022)

def attempt(f):
    try:
        r = f()
        return 'ok' if r is None else 'ok ' + str(r)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))

def as_actor(uid, f):
    if uid == 0:
        return attempt(f)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setresgid(USER, USER, USER)
            os.setresuid(USER, USER, USER)
            res = attempt(f)
        except BaseException as e:
            res = 'crash ' + repr(e)
        os.write(w, res.encode())
        os._exit(0)
    os.close(w)
    data = b''
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return data.decode()

def describe(p):
    try:
        s = os.lstat(p)
    except OSError as e:
        return errno.errorcode[e.errno]
    size = '' if stat.S_ISDIR(s.st_mode) else ' s%d' % s.st_size
    return '%o %d:%d n%d%s' % (s.st_mode, s.st_uid, s.st_gid, s.st_nlink, size)

def listing(d):
    out = []
    for root, dirs, files in os.walk(d):
        dirs.sort()
        for n in sorted(dirs + files):
            p = os.path.join(root, n)
            out.append('  %s %s' % (os.path.relpath(p, d), describe(p)))
    return out

def mkfile(p, mode=0o644, uid=0, gid=0, data=b'data'):
    fd = os.open(p, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    os.write(fd, data)
    os.close(fd)
    os.chown(p, uid, gid)
    os.chmod(p, mode)

def mkdir(p, mode=0o777, uid=0, gid=0):
    os.mkdir(p)
    os.chown(p, uid, gid)
    os.chmod(p, mode)

def fstat_mode(fd):
    return '%o' % os.fstat(fd).st_mode

def write_then_fstat(p):
    fd = os.open(p, os.O_WRONLY)
    try:
        os.write(fd, b'x')
        return fstat_mode(fd)
    finally:
        os.close(fd)

def ftruncate_then_fstat(p, size):
    fd = os.open(p, os.O_WRONLY)
    try:
        os.ftruncate(fd, size)
        return fstat_mode(fd)
    finally:
        os.close(fd)

def create_mode0_ftruncate(p):
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0)
    try:
        os.ftruncate(fd, 10)
        os.write(fd, b'abc')
        os.ftruncate(fd, 2)
        return os.fstat(fd).st_size
    finally:
        os.close(fd)

def ftruncate_rdonly(p):
    fd = os.open(p, os.O_RDONLY)
    try:
        os.ftruncate(fd, 1)
    finally:
        os.close(fd)

def utime_ns(p, ns):
    os.utime(p, ns=(ns, ns))
    return os.lstat(p).st_mtime_ns

SPECIAL = [0o4777, 0o2777, 0o6777, 0o2767, 0o4755]
cases = []
def case(name):
    def register(f):
        cases.append((name, f))
        return f
    return register

for m in SPECIAL:
    @case('write clears set-id %o' % m)
    def _(d, m=m):
        mkfile(d + '/f', m)
        mkfile(d + '/own', m, USER, USER)
        return [lambda: write_then_fstat(d + '/f'), lambda: write_then_fstat(d + '/own')]
    @case('truncate clears set-id %o' % m)
    def _(d, m=m):
        mkfile(d + '/f', m)
        return [lambda: os.truncate(d + '/f', 1)]
    @case('ftruncate clears set-id %o' % m)
    def _(d, m=m):
        mkfile(d + '/f', m)
        return [lambda: ftruncate_then_fstat(d + '/f', 1)]
    @case('open O_TRUNC clears set-id %o' % m)
    def _(d, m=m):
        mkfile(d + '/f', m)
        return [lambda: os.close(os.open(d + '/f', os.O_WRONLY | os.O_TRUNC))]
    @case('chown clears set-id %o' % m)
    def _(d, m=m):
        mkfile(d + '/f', m, USER, USER)
        mkfile(d + '/g', m, USER, USER)
        return [lambda: os.chown(d + '/f', USER, USER), lambda: os.chown(d + '/g', -1, USER)]

@case('chmod')
def _(d):
    mkfile(d + '/root', 0o644)
    mkfile(d + '/mine', 0o644, USER, USER)
    mkfile(d + '/other-group', 0o644, USER, 0)
    return [lambda: os.chmod(d + '/root', 0o600), lambda: os.chmod(d + '/mine', 0o4750),
            lambda: os.chmod(d + '/other-group', 0o2755), lambda: os.chmod(d + '/missing', 0o600)]

@case('chown')
def _(d):
    mkfile(d + '/mine', 0o644, USER, USER)
    mkfile(d + '/root', 0o644)
    return [lambda: os.chown(d + '/mine', 0, -1), lambda: os.chown(d + '/mine', -1, 0),
            lambda: os.chown(d + '/root', USER, -1), lambda: os.chown(d + '/mine', -1, -1),
            lambda: os.lchown(d + '/mine', 2000, 2000)]

@case('link')
def _(d):
    mkfile(d + '/root', 0o644)
    mkfile(d + '/mine', 0o644, USER, USER)
    mkdir(d + '/ro', 0o755)
    mkdir(d + '/sub')
    return [lambda: os.link(d + '/root', d + '/root-link'), lambda: os.link(d + '/mine', d + '/mine-link'),
            lambda: os.link(d + '/mine', d + '/ro/x'), lambda: os.link(d + '/mine', d + '/root'),
            lambda: os.link(d + '/sub', d + '/sub-link'), lambda: os.link(d + '/missing', d + '/y')]

@case('mkdir')
def _(d):
    mkdir(d + '/ro', 0o755)
    mkdir(d + '/sgid', 0o2777, 0, 3000)
    mkfile(d + '/file')
    return [lambda: os.mkdir(d + '/new', 0o777), lambda: os.mkdir(d + '/ro/x'),
            lambda: os.mkdir(d + '/sgid/x', 0o755), lambda: os.mkdir(d + '/file'),
            lambda: os.mkdir(d + '/file/x'), lambda: os.mkdir(d + '/sticky', 0o1777)]

@case('mkfifo')
def _(d):
    mkdir(d + '/ro', 0o755)
    mkdir(d + '/sgid', 0o2777, 0, 3000)
    return [lambda: os.mkfifo(d + '/fifo', 0o666), lambda: os.mkfifo(d + '/fifo'),
            lambda: os.mkfifo(d + '/ro/x'), lambda: os.mkfifo(d + '/sgid/x', 0o2777)]

@case('mknod')
def _(d):
    mkdir(d + '/ro', 0o755)
    return [lambda: os.mknod(d + '/reg', stat.S_IFREG | 0o640), lambda: os.mknod(d + '/chr', stat.S_IFCHR | 0o600, os.makedev(1, 3)),
            lambda: os.mknod(d + '/sock', stat.S_IFSOCK | 0o600), lambda: os.mknod(d + '/ro/x', stat.S_IFIFO | 0o600),
            lambda: os.mknod(d + '/reg', stat.S_IFIFO | 0o600)]

@case('open')
def _(d):
    mkfile(d + '/secret', 0o600)
    mkfile(d + '/readonly', 0o644)
    mkdir(d + '/ro', 0o755)
    mkdir(d + '/sgid', 0o2777, 0, 3000)
    os.symlink('secret', d + '/link')
    def o(p, flags, mode=0o666):
        return lambda: os.close(os.open(p, flags, mode))
    return [o(d + '/secret', os.O_RDONLY), o(d + '/readonly', os.O_WRONLY | os.O_TRUNC),
            o(d + '/readonly', os.O_CREAT | os.O_EXCL | os.O_WRONLY), o(d + '/ro', os.O_WRONLY),
            o(d + '/ro/new', os.O_CREAT | os.O_WRONLY), o(d + '/sgid/new', os.O_CREAT | os.O_WRONLY, 0o2755),
            o(d + '/link', os.O_RDONLY | os.O_NOFOLLOW), o(d + '/fresh', os.O_CREAT | os.O_RDWR, 0o4755),
            o(d + '/secret/x', os.O_RDONLY)]

@case('rename')
def _(d):
    mkdir(d + '/sticky', 0o1777)
    mkfile(d + '/sticky/roots', 0o666)
    mkfile(d + '/sticky/users', 0o644, USER, USER)
    mkdir(d + '/full')
    mkfile(d + '/full/x')
    mkdir(d + '/empty')
    mkdir(d + '/ro', 0o755)
    mkfile(d + '/ro/f', 0o666)
    mkfile(d + '/file', 0o666)
    return [lambda: os.rename(d + '/sticky/roots', d + '/sticky/taken'),
            lambda: os.rename(d + '/sticky/users', d + '/sticky/moved'),
            lambda: os.rename(d + '/empty', d + '/full'), lambda: os.rename(d + '/file', d + '/empty'),
            lambda: os.rename(d + '/empty', d + '/file'), lambda: os.rename(d + '/full', d + '/full/sub'),
            lambda: os.rename(d + '/ro/f', d + '/f2'), lambda: os.rename(d + '/file', d + '/ro/f')]

@case('rmdir')
def _(d):
    mkdir(d + '/full')
    mkfile(d + '/full/x')
    mkdir(d + '/sticky', 0o1777)
    mkdir(d + '/sticky/roots')
    mkdir(d + '/ro', 0o755)
    mkdir(d + '/ro/sub')
    mkfile(d + '/file')
    mkdir(d + '/empty')
    return [lambda: os.rmdir(d + '/full'), lambda: os.rmdir(d + '/sticky/roots'), lambda: os.rmdir(d + '/ro/sub'),
            lambda: os.rmdir(d + '/file'), lambda: os.rmdir(d + '/empty/.'), lambda: os.rmdir(d + '/empty')]

@case('symlink')
def _(d):
    mkdir(d + '/ro', 0o755)
    mkfile(d + '/file')
    return [lambda: os.symlink('target', d + '/s'), lambda: os.readlink(d + '/s'),
            lambda: os.symlink('x', d + '/file'), lambda: os.symlink('x', d + '/ro/s')]

@case('truncate')
def _(d):
    mkfile(d + '/root', 0o644)
    mkfile(d + '/open', 0o666)
    mkdir(d + '/dir')
    return [lambda: os.truncate(d + '/root', 1), lambda: os.truncate(d + '/open', 2),
            lambda: os.truncate(d + '/dir', 0), lambda: os.truncate(d + '/open', -1),
            lambda: os.truncate(d + '/open', 999999999999999)]

@case('ftruncate')
def _(d):
    mkfile(d + '/open', 0o666)
    return [lambda: create_mode0_ftruncate(d + '/mode0'), lambda: ftruncate_rdonly(d + '/open'),
            lambda: ftruncate_then_fstat(d + '/open', 999999999999999)]

@case('unlink')
def _(d):
    mkdir(d + '/sticky', 0o1777)
    mkfile(d + '/sticky/roots', 0o666)
    mkdir(d + '/ro', 0o755)
    mkfile(d + '/ro/f', 0o666)
    mkdir(d + '/dir')
    mkfile(d + '/file', 0o600)
    return [lambda: os.unlink(d + '/sticky/roots'), lambda: os.unlink(d + '/ro/f'), lambda: os.unlink(d + '/dir'),
            lambda: os.unlink(d + '/missing'), lambda: os.unlink(d + '/file')]

@case('utimensat')
def _(d):
    mkfile(d + '/root', 0o644)
    mkfile(d + '/open', 0o666)
    mkfile(d + '/mine', 0o644, USER, USER)
    t = 1600000000500000000
    return [lambda: utime_ns(d + '/root', t), lambda: os.utime(d + '/root'), lambda: os.utime(d + '/open'),
            lambda: utime_ns(d + '/open', t), lambda: utime_ns(d + '/mine', t)]

@case('setxattr')
def _(d):
    mkfile(d + '/root', 0o644)
    mkfile(d + '/mine', 0o644, USER, USER)
    os.setxattr(d + '/mine', 'user.a', b'1')
    return [lambda: os.setxattr(d + '/root', 'user.x', b'1'), lambda: os.setxattr(d + '/mine', 'user.a', b'2', os.XATTR_CREATE),
            lambda: os.setxattr(d + '/mine', 'user.b', b'2', os.XATTR_REPLACE), lambda: os.setxattr(d + '/mine', 'trusted.x', b'1'),
            lambda: sorted(os.listxattr(d + '/mine')), lambda: os.getxattr(d + '/mine', 'user.a')]

@case('fallocate')
def _(d):
    mkfile(d + '/open', 0o666)
    def falloc(size):
        fd = os.open(d + '/open', os.O_WRONLY)
        try:
            os.posix_fallocate(fd, 0, size)
        finally:
            os.close(fd)
    return [lambda: falloc(100), lambda: falloc(999999999999999)]

for name, build in cases:
    if only and not re.search(only, name):
        continue
    for actor in (0, USER):
        d = os.path.join(base, '%s-%d' % (name.replace(' ', '-'), actor))
        mkdir(d)
        actions = build(d)
        results = [as_actor(actor, a) for a in actions]
        print('%s as %d: %s' % (name, actor, ' | '.join(results)))
        for line in listing(d):
            print(line)
`;
