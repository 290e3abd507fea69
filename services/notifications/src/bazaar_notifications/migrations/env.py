from chassis import run_env

run_env()
