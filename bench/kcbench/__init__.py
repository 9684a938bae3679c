"""The provisioning benchmark, by job: common settings, packages, admin calls, measuring, reporting."""
