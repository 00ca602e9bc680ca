"""The items app's API: the items collection.

Included from config/urls.py under /api/v1/, in the "api" namespace.
"""

from core.routers import OptionalSlashRouter
from items.views import ItemViewSet

router = OptionalSlashRouter()
router.register("items", ItemViewSet, basename="item")

urlpatterns = router.urls
