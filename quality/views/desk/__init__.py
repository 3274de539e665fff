"""Quality's desk screens, one module each: the overview, nonconformances, holds, checklist
templates, a checklist version (its lifecycle and its items), SOP documents."""
