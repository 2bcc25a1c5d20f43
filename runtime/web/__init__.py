"""The desk on the web (SPEC §13): the pages of form and chat channels, served by
`deskline serve --http ADDR`. See runtime.web.app."""
