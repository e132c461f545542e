from tvselect.console import run

run()
