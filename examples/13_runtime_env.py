"""Runtime environments: the job's working directory, modules and environment variables shipped
to every task and actor, and per-task overrides merged on top.

``ray.init(runtime_env=...)`` zips the local ``working_dir`` and ``py_modules`` and ships them
to every node; tasks run inside that directory (relative paths work) and can import what it
holds. ``env_vars`` given to a task or actor merge with the job's, name by name; nested tasks
inherit their caller's environment. (``pip=[...]`` installs packages per environment too; it
needs a package index or wheel files, so this example leaves it out.)

Run: python examples/13_runtime_env.py
"""
import os
import tempfile

import raylike as ray

# A small project: a module and a data file, in a directory of their own.
project = tempfile.mkdtemp(prefix="raylike-example-")
with open(os.path.join(project, "greetings.py"), "w") as f:
    f.write("def greet(name):\n    return f'hello, {name}'\n")
with open(os.path.join(project, "names.txt"), "w") as f:
    f.write("ada\ngrace\n")

ray.init(num_cpus=2, include_dashboard=False,
         runtime_env={"working_dir": project, "env_vars": {"GREETING_STYLE": "plain"}})


@ray.remote
def greet_all():
    import greetings  # shipped with the working directory

    with open("names.txt") as f:  # a relative path: the task runs in the working directory
        names = f.read().split()
    return [greetings.greet(n) for n in names], os.environ["GREETING_STYLE"]


@ray.remote
def style():
    return os.environ.get("GREETING_STYLE"), os.environ.get("VOLUME")


@ray.remote
def outer():
    return ray.get(style.remote())  # a nested task inherits its caller's environment


print(ray.get(greet_all.remote()))
assert ray.get(greet_all.remote()) == (["hello, ada", "hello, grace"], "plain")

loud = {"env_vars": {"GREETING_STYLE": "loud", "VOLUME": "11"}}
print(ray.get(style.options(runtime_env=loud).remote()))  # ('loud', '11'): merged over the job's
assert ray.get(outer.options(runtime_env={"env_vars": {"VOLUME": "3"}}).remote()) == ("plain", "3")
assert ray.get(style.remote()) == ("plain", None)  # other tasks keep the job's environment


@ray.remote(runtime_env={"env_vars": {"GREETING_STYLE": "actor"}})
class Greeter:
    def style(self):
        return os.environ["GREETING_STYLE"]


assert ray.get(Greeter.remote().style.remote()) == "actor"
print("the job's environment:", ray.get_runtime_context().runtime_env)
ray.shutdown()
