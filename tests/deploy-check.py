#!/usr/bin/python3
"""Check a rendered gilly stack (kubectl kustomize output): tests/deploy.sh.

    deploy-check.py --overlay ssl|cert-manager --stack STACK.yaml
        --containerfile deploy/Containerfile --lighttpd-conf lighttpd/lighttpd.conf
        --serve-sh lighttpd/serve.sh --image IMAGE [--table TABLE] [--ca CA.crt --crt TLS.crt] [--table-out FILE]

Prints one "ok - ..." or "not ok - ..." line per check and exits 1 if any
failed. What it checks is what the API server and the pod need to agree
on: the webhook points at the Service, the Service at the container port,
the container port is lighttpd's, the certificate the API server trusts is
the one mounted, the pods meet the restricted Pod Security Standard.
"""

import argparse
import base64
import re
import shlex
import sys

import yaml

NAMESPACE = "gilly"
failures = 0


def check(ok, what):
    global failures
    if ok:
        print("ok - %s" % what)
    else:
        failures += 1
        print("not ok - %s" % what)
    return ok


def dig(obj, *path, default=None):
    """obj[path[0]][path[1]]..., or default where a step is missing."""
    for step in path:
        if isinstance(obj, dict) and step in obj:
            obj = obj[step]
        elif isinstance(obj, list) and isinstance(step, int) and step < len(obj):
            obj = obj[step]
        else:
            return default
    return obj


def quantity(q):
    """A Kubernetes quantity (16Mi, 50m, 1) as a float of base units."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6,
             "G": 1e9, "m": 1e-3, "": 1}
    m = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(q))
    if not m or m.group(2) not in units:
        raise ValueError("bad quantity %r" % q)
    return float(m.group(1)) * units[m.group(2)]


def selects(selector, labels):
    """Whether a LabelSelector (matchLabels, matchExpressions) selects labels."""
    if selector is None:
        return True
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def containerfile_facts(path):
    """The image's ENV, COPYs from the context, command, USER and EXPOSE."""
    text = open(path).read()
    text = re.sub(r"\\\n", " ", text)  # continuation lines
    facts = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            # Only the last stage is the image.
            facts = {"env": {}, "copies": {}, "entry": [], "user": None,
                     "expose": []}
        elif facts is None:
            continue
        elif word == "ENV":
            for tok in shlex.split(rest):
                k, eq, v = tok.partition("=")
                if eq:
                    facts["env"][k] = v
        elif word == "COPY":
            toks = shlex.split(rest)
            if any(t.startswith("--from") for t in toks):
                continue
            args = [t for t in toks if not t.startswith("--")]
            for src in args[:-1]:
                facts["copies"][src] = args[-1]
        elif word in ("ENTRYPOINT", "CMD"):
            try:
                argv = yaml.safe_load(rest)
            except yaml.YAMLError:
                argv = None
            if isinstance(argv, list):
                facts["entry"] = facts["entry"] + argv if word == "CMD" else argv
        elif word == "USER":
            facts["user"] = rest.strip()
        elif word == "EXPOSE":
            facts["expose"] += rest.split()
    return facts or {"env": {}, "copies": {}, "entry": [], "user": None, "expose": []}


def lighttpd_env_vars(path):
    return sorted(set(re.findall(r"env\.([A-Za-z_][A-Za-z0-9_]*)", open(path).read())))


def serve_defaults(path):
    """The variables serve.sh gives a default (: "${NAME:=value}")."""
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):=", open(path).read()))


def lighttpd_graceful_timeout(path):
    m = re.search(r'"server\.graceful-shutdown-timeout"\s*=>\s*"?([0-9]+)',
                  open(path).read())
    return int(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--overlay", required=True)
    ap.add_argument("--stack", required=True)
    ap.add_argument("--containerfile", required=True)
    ap.add_argument("--lighttpd-conf", required=True)
    ap.add_argument("--serve-sh", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--table")
    ap.add_argument("--ca")
    ap.add_argument("--crt")
    ap.add_argument("--table-out")
    a = ap.parse_args()
    ov = a.overlay

    docs = [d for d in yaml.safe_load_all(open(a.stack)) if d]
    objs = {}
    for d in docs:
        key = (d.get("kind"), dig(d, "metadata", "name"))
        check(key not in objs, "%s: %s/%s appears once" % (ov, key[0], key[1]))
        objs[key] = d

    def one(kind, prefix=None):
        found = [o for (k, n), o in objs.items()
                 if k == kind and (prefix is None or n == prefix
                                   or n.startswith(prefix + "-"))]
        check(len(found) == 1, "%s: one %s%s" % (ov, kind, " " + prefix if prefix else ""))
        return found[0] if found else {}

    for (kind, name), o in objs.items():
        cluster_scoped = kind in ("Namespace", "MutatingWebhookConfiguration")
        ns = dig(o, "metadata", "namespace")
        check(cluster_scoped and ns is None or not cluster_scoped and ns == NAMESPACE,
              "%s: %s/%s %s" % (ov, kind, name,
                                "is cluster-scoped" if cluster_scoped else "is in namespace gilly"))

    nsobj = one("Namespace", NAMESPACE)
    sa = one("ServiceAccount", "gilly")
    cm = one("ConfigMap", "gilly-config")
    dep = one("Deployment", "gilly")
    svc = one("Service", "gilly")
    pdb = one("PodDisruptionBudget", "gilly")
    mwc = one("MutatingWebhookConfiguration", "gilly")
    cf = containerfile_facts(a.containerfile)
    ltvars = lighttpd_env_vars(a.lighttpd_conf)

    # The namespace: the webhook must never see it, its pods are restricted.
    nslabels = dict(dig(nsobj, "metadata", "labels", default={}))
    check(nslabels.get("pod-security.kubernetes.io/enforce") == "restricted",
          "%s: namespace enforces the restricted Pod Security Standard" % ov)
    check(dig(sa, "automountServiceAccountToken") is False,
          "%s: service account mounts no token" % ov)

    # The pod.
    spec = dig(dep, "spec", default={})
    pod = dig(spec, "template", "spec", default={})
    podlabels = dig(spec, "template", "metadata", "labels", default={})
    check(spec.get("replicas") == 2, "%s: 2 replicas" % ov)
    check(selects(dig(spec, "selector"), podlabels),
          "%s: the Deployment's selector selects its pods" % ov)
    check(dig(spec, "strategy", "rollingUpdate", "maxUnavailable") in (0, "0", "0%"),
          "%s: a rollout never drops below the replica count" % ov)
    check(pod.get("serviceAccountName") == dig(sa, "metadata", "name"),
          "%s: pods run as the stack's service account" % ov)
    check(pod.get("automountServiceAccountToken") is False,
          "%s: pods mount no service account token" % ov)
    spread = [c for c in pod.get("topologySpreadConstraints") or []
              if c.get("topologyKey") == "kubernetes.io/hostname"
              and selects(c.get("labelSelector"), podlabels)]
    anti = [t for t in dig(pod, "affinity", "podAntiAffinity",
                           "preferredDuringSchedulingIgnoredDuringExecution", default=[])
            if dig(t, "podAffinityTerm", "topologyKey") == "kubernetes.io/hostname"
            and selects(dig(t, "podAffinityTerm", "labelSelector"), podlabels)]
    check(spread or anti, "%s: replicas spread across nodes" % ov)
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        check(not pod.get(key), "%s: pods do not set %s" % (ov, key))

    psc = pod.get("securityContext") or {}
    containers = pod.get("containers") or []
    check(bool(containers) and containers[0].get("name") == "gilly",
          "%s: gilly is the pod's first container" % ov)
    allc = containers + (pod.get("initContainers") or [])
    for c in allc:
        n = c.get("name")
        sc = c.get("securityContext") or {}
        check(c.get("image") == a.image, "%s: %s runs %s" % (ov, n, a.image))
        check(sc.get("allowPrivilegeEscalation") is False,
              "%s: %s: allowPrivilegeEscalation false" % (ov, n))
        check("ALL" in (dig(sc, "capabilities", "drop", default=[]) or [])
              and not dig(sc, "capabilities", "add"),
              "%s: %s: drops all capabilities, adds none" % (ov, n))
        check(sc.get("readOnlyRootFilesystem") is True,
              "%s: %s: read-only root file system" % (ov, n))
        check(not sc.get("privileged"), "%s: %s: not privileged" % (ov, n))
        check(sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True,
              "%s: %s: runAsNonRoot" % (ov, n))
        uid = sc.get("runAsUser", psc.get("runAsUser"))
        check(isinstance(uid, int) and uid > 0, "%s: %s: numeric non-root UID" % (ov, n))
        seccomp = dig(sc, "seccompProfile", "type") or dig(psc, "seccompProfile", "type")
        check(seccomp in ("RuntimeDefault", "Localhost"),
              "%s: %s: seccomp profile RuntimeDefault" % (ov, n))
        for p in c.get("ports") or []:
            check("hostPort" not in p, "%s: %s: no hostPort" % (ov, n))
        for kind in ("requests", "limits"):
            for res in ("cpu", "memory"):
                check(dig(c, "resources", kind, res) is not None,
                      "%s: %s: %s.%s set" % (ov, n, kind, res))
    allowed_volumes = {"configMap", "secret", "emptyDir", "projected",
                       "downwardAPI", "csi", "ephemeral", "persistentVolumeClaim", "name"}
    for v in pod.get("volumes") or []:
        check(set(v) <= allowed_volumes,
              "%s: volume %s is of a restricted-allowed type" % (ov, v.get("name")))

    gilly = containers[0] if containers else {}
    # Sized from the design: the whole pod under 12 MiB resident.
    mem_req = quantity(dig(gilly, "resources", "requests", "memory", default="0"))
    mem_lim = quantity(dig(gilly, "resources", "limits", "memory", default="0"))
    check(12 * 2**20 <= mem_req <= mem_lim,
          "%s: gilly: memory request covers the 12 MiB target, limit above it" % ov)

    # Environment: every env.X lighttpd.conf reads is set, by the pod, the
    # image or serve.sh (lighttpd refuses to start on an unset one).
    env = dict(cf["env"])
    for e in gilly.get("env") or []:
        env[e["name"]] = e.get("value")
    defaults = serve_defaults(a.serve_sh)
    for var in ltvars:
        check(env.get(var) not in (None, "") or var in defaults,
              "%s: %s (read by lighttpd.conf) is set by the pod, the image or serve.sh"
              % (ov, var))

    # The port: lighttpd's = the container's = the Service's target.
    ports = {p.get("name"): p.get("containerPort") for p in gilly.get("ports") or []}
    lt_port = env.get("GILLY_PORT")
    check(lt_port is not None and str(lt_port).isdigit()
          and int(lt_port) in ports.values(),
          "%s: lighttpd's port (GILLY_PORT=%s) is a container port %s"
          % (ov, lt_port, sorted(ports.values())))
    check(lt_port is not None and lt_port in cf["expose"],
          "%s: the image EXPOSEs lighttpd's port" % ov)

    def resolve(port):
        return ports.get(port) if isinstance(port, str) else port

    for probe in ("readinessProbe", "livenessProbe"):
        pr = gilly.get(probe) or {}
        check(dig(pr, "httpGet", "path") == "/healthz"
              and dig(pr, "httpGet", "scheme") == "HTTPS"
              and str(resolve(dig(pr, "httpGet", "port"))) == str(lt_port),
              "%s: %s: GET /healthz over HTTPS on lighttpd's port" % (ov, probe))

    # Mounts: the table, the certificate, the writable run directory.
    mounts = {m.get("name"): m for m in gilly.get("volumeMounts") or []}
    vols = {v.get("name"): v for v in pod.get("volumes") or []}

    def mounted_at(path):
        for name, m in mounts.items():
            mp = m.get("mountPath", "").rstrip("/")
            if path == mp or path.startswith(mp + "/"):
                return vols.get(name), m
        return None, None

    cfg = env.get("GILLY_CONFIG") or ""
    vol, m = mounted_at(cfg)
    check(vol is not None and dig(vol, "configMap", "name") == dig(cm, "metadata", "name")
          and cfg[len(m["mountPath"].rstrip("/")) + 1:] in (cm.get("data") or {}),
          "%s: GILLY_CONFIG (%s) is a key of the stack's ConfigMap, mounted" % (ov, cfg))
    tlsdir = env.get("GILLY_TLS_DIR") or ""
    vol, m = mounted_at(tlsdir + "/tls.crt")
    tls_secret = dig(vol, "secret", "secretName")
    check(tls_secret is not None and m.get("readOnly") is True,
          "%s: GILLY_TLS_DIR (%s) is a Secret mounted read-only" % (ov, tlsdir))
    mode = dig(vol, "secret", "defaultMode")
    check(mode is not None and mode & 0o007 == 0,
          "%s: the key is not readable by others (defaultMode %s)" % (ov, oct(mode or 0)))
    rundir = env.get("GILLY_RUN_DIR") or ""
    vol, m = mounted_at(rundir + "/x")
    check(vol is not None and "emptyDir" in vol and not m.get("readOnly"),
          "%s: GILLY_RUN_DIR (%s) is a writable emptyDir" % (ov, rundir))

    # Stopping: the grace period covers the preStop sleep and lighttpd's
    # graceful shutdown.
    grace = pod.get("terminationGracePeriodSeconds")
    prestop = dig(gilly, "lifecycle", "preStop", "exec", "command", default=[])
    sleep = int(prestop[-1]) if prestop and str(prestop[-1]).isdigit() else 0
    lt_grace = lighttpd_graceful_timeout(a.lighttpd_conf)
    check(isinstance(grace, int) and grace > sleep + (lt_grace or 0),
          "%s: terminationGracePeriodSeconds (%s) exceeds the preStop sleep (%d) "
          "and lighttpd's graceful-shutdown-timeout (%s)" % (ov, grace, sleep, lt_grace))

    # The image: its lighttpd config is lighttpd/lighttpd.conf, the one the
    # integration tests run, started by lighttpd/serve.sh as they do.
    conf = cf["copies"].get("lighttpd/lighttpd.conf")
    serve = cf["copies"].get("lighttpd/serve.sh")
    entry = " ".join(cf["entry"])
    check(conf is not None, "%s: the image copies lighttpd/lighttpd.conf (to %s)" % (ov, conf))
    check(serve is not None and serve in entry,
          "%s: the image runs lighttpd/serve.sh (%s)" % (ov, entry))
    check(conf is not None and (env.get("GILLY_LIGHTTPD_CONF") == conf or conf in entry),
          "%s: serve.sh is pointed at that lighttpd.conf (GILLY_LIGHTTPD_CONF=%s)"
          % (ov, env.get("GILLY_LIGHTTPD_CONF")))
    check(env.get("GILLY_BIN", "").startswith("/") or "gilly" in cf["copies"].values(),
          "%s: serve.sh finds gilly (GILLY_BIN=%s)" % (ov, env.get("GILLY_BIN")))
    user = (cf["user"] or "").split(":")[0]
    check(user.isdigit() and int(user) == dig(psc, "runAsUser"),
          "%s: the image's USER (%s) is the pod's numeric runAsUser" % (ov, cf["user"]))

    # The Service and the PDB select the pods.
    check(selects({"matchLabels": dig(svc, "spec", "selector", default={})}, podlabels)
          and dig(svc, "spec", "selector"),
          "%s: the Service selects the pods" % ov)
    sports = dig(svc, "spec", "ports", default=[])
    check(len(sports) == 1 and sports[0].get("port") == 443
          and str(resolve(sports[0].get("targetPort"))) == str(lt_port),
          "%s: the Service forwards 443 to lighttpd's port" % ov)
    check(str(dig(pdb, "spec", "minAvailable")) == "1"
          and selects(dig(pdb, "spec", "selector"), podlabels),
          "%s: the PodDisruptionBudget keeps 1 pod" % ov)

    # The webhook.
    hooks = dig(mwc, "webhooks", default=[])
    check(len(hooks) >= 1, "%s: the configuration has a webhook" % ov)
    for h in hooks:
        n = h.get("name")
        check(h.get("admissionReviewVersions") == ["v1", "v1beta1"],
              "%s: %s: admissionReviewVersions [v1, v1beta1]" % (ov, n))
        check(h.get("sideEffects") == "None", "%s: %s: sideEffects None" % (ov, n))
        check(h.get("reinvocationPolicy") == "IfNeeded",
              "%s: %s: reinvocationPolicy IfNeeded" % (ov, n))
        check(h.get("matchPolicy") == "Equivalent", "%s: %s: matchPolicy Equivalent" % (ov, n))
        check(h.get("failurePolicy") in ("Fail", "Ignore"),
              "%s: %s: failurePolicy set (%s)" % (ov, n, h.get("failurePolicy")))
        check(isinstance(h.get("timeoutSeconds"), int) and 1 <= h["timeoutSeconds"] <= 10,
              "%s: %s: timeoutSeconds small (%s)" % (ov, n, h.get("timeoutSeconds")))
        s = dig(h, "clientConfig", "service", default={})
        svc_port = sports[0].get("port") if sports else None
        check("url" not in (h.get("clientConfig") or {})
              and s.get("name") == dig(svc, "metadata", "name")
              and s.get("namespace") == dig(svc, "metadata", "namespace")
              and s.get("path") == "/mutate"
              and s.get("port", 443) == svc_port,
              "%s: %s: calls the stack's Service at /mutate on its port" % (ov, n))
        rules = {(op, res) for r in h.get("rules") or []
                 if r.get("apiGroups") == [""] and "v1" in (r.get("apiVersions") or [])
                 for op in r.get("operations") or [] for res in r.get("resources") or []}
        check(("CREATE", "pods") in rules and ("UPDATE", "pods/ephemeralcontainers") in rules,
              "%s: %s: rules cover pods CREATE and pods/ephemeralcontainers UPDATE" % (ov, n))
        nsel = h.get("namespaceSelector")
        own = dict(nslabels, **{"kubernetes.io/metadata.name": NAMESPACE})
        check(not selects(nsel, own),
              "%s: %s: never intercepts gilly's own namespace" % (ov, n))
        # By the label the API server sets and nobody can change, not only
        # by one an edit of the namespace could remove.
        check(not selects(nsel, {"kubernetes.io/metadata.name": NAMESPACE}),
              "%s: %s: excludes gilly's namespace by kubernetes.io/metadata.name"
              % (ov, n))
        check(not selects(nsel, {"kubernetes.io/metadata.name": "kube-system"}),
              "%s: %s: leaves kube-system alone" % (ov, n))
        check(selects(nsel, {"kubernetes.io/metadata.name": "default"})
              and not selects(nsel, {"kubernetes.io/metadata.name": "team",
                                     "gilly.io/skip": "true"}),
              "%s: %s: intercepts other namespaces unless labelled gilly.io/skip=true"
              % (ov, n))
        osel = h.get("objectSelector")
        check(selects(osel, {"app": "x"}) and not selects(osel, {"gilly.io/skip": "true"}),
              "%s: %s: a Pod opts out with the label gilly.io/skip=true" % (ov, n))
        bundle = dig(h, "clientConfig", "caBundle")
        if ov == "ssl":
            ok = False
            if bundle and a.ca:
                try:
                    ok = base64.b64decode(re.sub(r"\s", "", bundle), validate=True) \
                        == open(a.ca, "rb").read()
                except ValueError:
                    ok = False
            check(ok, "%s: %s: caBundle is the CA made by make ssl" % (ov, n))
        else:
            check(not bundle, "%s: %s: no caBundle (the cainjector writes it)" % (ov, n))

    annotations = dig(mwc, "metadata", "annotations", default={}) or {}
    if ov == "ssl":
        secret = one("Secret", "gilly-tls")
        check(secret.get("type") == "kubernetes.io/tls"
              and {"tls.crt", "tls.key"} <= set(secret.get("data") or {}),
              "%s: the TLS Secret holds tls.crt and tls.key" % ov)
        check(tls_secret == dig(secret, "metadata", "name"),
              "%s: the pods mount the stack's TLS Secret (%s)" % (ov, tls_secret))
        if a.crt:
            crt = base64.b64decode(re.sub(r"\s", "", dig(secret, "data", "tls.crt", default="")))
            check(crt == open(a.crt, "rb").read(),
                  "%s: the Secret's certificate is the one make ssl made" % ov)
        check("cert-manager.io/inject-ca-from" not in annotations,
              "%s: no cert-manager annotation" % ov)
    else:
        certs = {dig(o, "metadata", "name"): o for (k, _), o in objs.items() if k == "Certificate"}
        issuers = {dig(o, "metadata", "name") for (k, _), o in objs.items() if k == "Issuer"}
        ref = annotations.get("cert-manager.io/inject-ca-from", "")
        ns, _, name = ref.partition("/")
        cert = certs.get(name, {})
        check(ns == NAMESPACE and bool(cert),
              "%s: cert-manager.io/inject-ca-from (%s) names a Certificate of the stack"
              % (ov, ref))
        check(dig(cert, "spec", "secretName") == tls_secret,
              "%s: the pods mount that Certificate's Secret (%s)" % (ov, tls_secret))
        host = "%s.%s.svc" % (dig(svc, "metadata", "name"), dig(svc, "metadata", "namespace"))
        check(host in (dig(cert, "spec", "dnsNames", default=[]) or []),
              "%s: the Certificate names %s" % (ov, host))
        check(bool(dig(cert, "spec", "renewBefore")) and
              dig(cert, "spec", "privateKey", "rotationPolicy") == "Always",
              "%s: the Certificate is renewed, with a new key" % ov)
        for c in certs.values():
            check(dig(c, "spec", "issuerRef", "name") in issuers,
                  "%s: Certificate %s's issuer is in the stack" % (ov, dig(c, "metadata", "name")))

    # The table: the one asked for, written out for gilly check-config.
    data = cm.get("data") or {}
    table = data.get("gilly.yaml")
    check(table is not None, "%s: the ConfigMap holds gilly.yaml" % ov)
    if a.table and table is not None:
        check(table == open(a.table).read(),
              "%s: the ConfigMap's gilly.yaml is %s" % (ov, a.table))
    if a.table_out and table is not None:
        with open(a.table_out, "w") as f:
            f.write(table)

    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
