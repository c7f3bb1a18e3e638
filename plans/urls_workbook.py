"""Routes for plan workbook import and export (included by plans.urls)."""

urlpatterns: list = []
