from django.urls import include, path

from plans import urls_workbook, views

app_name = "plans"
urlpatterns = [
    path("", views.PlanListView.as_view(), name="plan_list"),
    path("plans/<int:pk>/", views.PlanDetailView.as_view(), name="plan_detail"),
    path("", include(urls_workbook.urlpatterns)),
]
