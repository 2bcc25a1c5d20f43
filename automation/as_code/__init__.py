"""Automation as code (SPEC §8 B4, §12 B4.1, B4.2): the desk's automation as a TOML file.

- `toml_out`: the TOML writer for the documents this package produces
- `export`: the desk's pipelines, statuses, triggers, workflows, templates, limits and channels
  as one document (no secrets)
- `schema.check`: what a read file may say, each problem with its line
- `apply`: what a file would change (`diff`) and the change itself, through `automation.admin`
"""
