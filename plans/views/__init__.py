from plans.views.pages import PlanDetailView, PlanListView  # noqa: F401
