from django.urls import path

from plans import views

app_name = "plans"
urlpatterns = [
    path("", views.PlanListView.as_view(), name="plan_list"),
    path("plans/<int:pk>/", views.PlanDetailView.as_view(), name="plan_detail"),
]
