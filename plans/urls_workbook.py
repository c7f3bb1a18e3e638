"""Routes for plan workbook import and export (included by plans.urls)."""

from django.urls import path

from plans import workbook_views as views

urlpatterns = [
    path("workbooks/", views.workbook_list, name="workbook_list"),
    path("workbooks/template.xlsx", views.template_download, name="workbook_template"),
    path("plans/<int:pk>/export.xlsx", views.plan_export, name="plan_export"),
    path("plans/import/", views.ImportView.as_view(), name="plan_import"),
    path("plans/<int:pk>/import/", views.ImportView.as_view(), name="plan_import_into"),
    path("plans/import/confirm/", views.ConfirmImportView.as_view(), name="import_confirm"),
]
