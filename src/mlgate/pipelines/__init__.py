"""Release pipeline: packages, pickle scanning, approvals, deploy, verify, rollback, ledger."""
