from django.urls import path

from dashboards import close, views

app_name = "dashboards"
urlpatterns = [
    path("", views.OverviewView.as_view(), name="overview"),
    path("home/", views.landing, name="landing"),
    path("plans/<int:pk>/", views.PlanDashboardView.as_view(), name="plan_dashboard"),
    path("plans/<int:pk>/commentary/", views.CommentaryView.as_view(), name="commentary"),
    path("plans/<int:pk>/report/", views.ReportView.as_view(), name="report"),
    path("plans/<int:pk>/report.xlsx", views.ReportWorkbookView.as_view(), name="report_xlsx"),
    path("plans/<int:pk>/report.pdf", views.ReportPdfView.as_view(), name="report_pdf"),
    path("plans/<int:pk>/months/", close.MonthsView.as_view(), name="months"),
    path("plans/<int:pk>/months/submit/", close.SubmitView.as_view(), name="month_submit"),
    path("plans/<int:pk>/months/withdraw/", close.WithdrawView.as_view(), name="month_withdraw"),
    path("plans/<int:pk>/months/return/", close.ReturnView.as_view(), name="month_return"),
    path("plans/<int:pk>/months/sign-off/", close.SignOffView.as_view(), name="month_signoff"),
    path("plans/<int:pk>/months/publish/", close.PublishView.as_view(), name="month_publish"),
    path("plans/<int:pk>/months/reopen/", close.ReopenView.as_view(), name="month_reopen"),
    path("plans/<int:pk>/months/republish/", close.RepublishView.as_view(), name="month_republish"),
    path("published/", close.PublishedListView.as_view(), name="published_list"),
    path("published/<int:pk>/", close.PublishedReportView.as_view(), name="published_report"),
    path("published/<int:pk>.pdf", close.PublishedPdfView.as_view(), name="published_pdf"),
    path("published/<int:pk>.xlsx", close.PublishedXlsxView.as_view(), name="published_xlsx"),
]
