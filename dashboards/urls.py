from django.urls import path

from dashboards import views

app_name = "dashboards"
urlpatterns = [
    path("", views.OverviewView.as_view(), name="overview"),
    path("home/", views.landing, name="landing"),
    path("plans/<int:pk>/", views.PlanDashboardView.as_view(), name="plan_dashboard"),
    path("plans/<int:pk>/commentary/", views.CommentaryView.as_view(), name="commentary"),
    path("plans/<int:pk>/report/", views.ReportView.as_view(), name="report"),
    path("plans/<int:pk>/report.xlsx", views.ReportWorkbookView.as_view(), name="report_xlsx"),
    path("plans/<int:pk>/report.pdf", views.ReportPdfView.as_view(), name="report_pdf"),
]
