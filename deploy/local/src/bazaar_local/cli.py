"""`bazaar`: start the shop (`up`), stop it (`down`), look at it (`status`, `logs`, `trace`,
`top`), test it (`test`, `contracts`), break it on purpose (`chaos`).

The commands live in `bazaar_local.commands`, one module per group; this is where they are
registered (the `bazaar` script's entry point is `app`).
"""

import typer

from bazaar_local.commands.chaos import chaos_app
from bazaar_local.commands.checks import contracts, test
from bazaar_local.commands.logs import logs
from bazaar_local.commands.run import down, status, up
from bazaar_local.commands.top import top
from bazaar_local.commands.trace import trace

app = typer.Typer(help="Run and test Bazaar locally.", no_args_is_help=True, add_completion=False)
app.command()(up)
app.command()(logs)
app.command()(trace)
app.command()(top)
app.command()(down)
app.command()(status)
app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(test)
app.command()(contracts)
app.add_typer(chaos_app, name="chaos")
