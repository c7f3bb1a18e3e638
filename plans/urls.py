from django.urls import include, path

from plans import urls_workbook
from plans.views import pages
from plans.views.month_end import MonthEndView
from plans.views.records import urlpatterns as record_urls

app_name = "plans"
urlpatterns = [
    path("", pages.PlanListView.as_view(), name="plan_list"),
    path("plans/new/", pages.PlanFormView.as_view(), name="plan_create"),
    path("plans/<int:pk>/", pages.PlanDetailView.as_view(), name="plan_detail"),
    path("plans/<int:pk>/edit/", pages.PlanFormView.as_view(), name="plan_edit"),
    path("plans/<int:pk>/delete/", pages.PlanDeleteView.as_view(), name="plan_delete"),
    path("plans/<int:pk>/history/", pages.AuditTrailView.as_view(), name="plan_history"),
    path("plans/<int:pk>/deleted/", pages.PlanDeletionsView.as_view(), name="deletion_list"),
    path("plans/<int:pk>/deleted/restore/", pages.RestoreView.as_view(), name="deletion_restore"),
    path("plans/<int:plan_pk>/month-end/", MonthEndView.as_view(), name="month_end"),
    *record_urls,
    path("", include(urls_workbook.urlpatterns)),
]
