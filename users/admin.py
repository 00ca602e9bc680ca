"""The Django admin for accounts."""

from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import (
    AdminPasswordChangeForm,
    AdminUserCreationForm,
    UserChangeForm,
)
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse_lazy
from rest_framework_simplejwt.token_blacklist.admin import BlacklistedTokenAdmin
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from core.throttling import (
    LoginUsernameThrottle,
    ScopedWindowThrottle,
    throttle_refusal,
)
from users.exceptions import OwnAccountLockout
from users.models import User
from users.services import user_password_set, user_set_active, user_set_superuser

# Written through their services, not by the change form's save().
STATUS_FIELDS = ("is_active", "is_superuser")


class UniqueEmailMixin(forms.ModelForm):
    """Normalise the email and refuse one that another account has, in any case."""

    def clean_email(self) -> str:
        """Return the normalised email, or say which field clashes."""
        email = User.objects.normalize_email(self.cleaned_data["email"])
        if User.objects.email_taken(email, exclude_pk=self.instance.pk):
            raise forms.ValidationError(
                "A user with this email address already exists.", code="unique"
            )
        return email


class UserCreateForm(UniqueEmailMixin, AdminUserCreationForm):
    """The add form: an email and a password typed twice, hashed on save."""

    class Meta:
        model = User
        fields = ("email", "full_name")


class UserEditForm(UniqueEmailMixin, UserChangeForm):
    """The change form: the password shows as a hash summary with a reset link."""

    class Meta:
        model = User
        fields = ("email", "full_name", "is_active", "is_superuser")


class PasswordSetForm(AdminPasswordChangeForm):
    """The admin's "set password" form; a new password also ends every session."""

    def save(self, commit: bool = True) -> Any:
        """Set the password (or none usable) through the service that ends sessions."""
        if not commit:
            return super().save(commit=False)
        usable = self.cleaned_data["set_usable_password"]
        password = self.cleaned_data["password1"] if usable else None
        # A password reset by an admin is often about a stolen account.
        user = cast(User, self.user)  # the admin's user model
        user_password_set(user=user, password=password)
        return user


# Only superusers reach the admin and the API has no groups: the page would mislead.
admin.site.unregister(Group)

# Named after the service, and "View site" leads to the API's docs (/ has no page).
admin.site.site_header = f"{settings.SPECTACULAR_SETTINGS['TITLE']} administration"
admin.site.site_title = str(settings.SPECTACULAR_SETTINGS["TITLE"])
# Lazy: reverse() now would load the URLconf, which imports this module. The stubs
# type site_url as str; Django only compares it with "/" and renders it.
admin.site.site_url = reverse_lazy("api:docs")  # type: ignore[assignment]


class ReadOnlyBlacklistedTokenAdmin(BlacklistedTokenAdmin):
    """Revoked tokens, to look at: rows come from logout, refresh and password flows.

    A row added or edited by hand would revoke or restore a session behind the
    services' back (and skip their locking), so the admin only shows them.
    """

    def has_add_permission(self, *args: Any, **kwargs: Any) -> bool:
        """Refuse adding by hand."""
        return False

    def has_change_permission(self, *args: Any, **kwargs: Any) -> bool:
        """Refuse editing by hand."""
        return False

    def has_delete_permission(self, *args: Any, **kwargs: Any) -> bool:
        """Refuse deleting: that would bring a revoked token back to life."""
        return False


admin.site.unregister(BlacklistedToken)
admin.site.register(BlacklistedToken, ReadOnlyBlacklistedTokenAdmin)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Accounts: search by email or name, filter by status, (de)activate in bulk."""

    form = UserEditForm
    add_form = UserCreateForm
    change_password_form = PasswordSetForm
    list_display = (
        "email",
        "full_name",
        "is_active",
        "is_superuser",
        "created_at",
    )
    list_display_links = ("email",)
    list_filter = ("is_active", "is_superuser", "created_at")
    search_fields = ("email", "full_name")
    search_help_text = "Search by email or full name."
    ordering = ("-created_at", "-id")
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "updated_at", "last_login")
    filter_horizontal = ()
    list_per_page = 50
    # No second COUNT(*) over the whole table on every page of a big list.
    show_full_result_count = False
    actions = ("activate_users", "deactivate_users")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Status", {"fields": ("is_active", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "email",
                    "full_name",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )

    @admin.action(description="Activate the selected users")
    def activate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Let the selected users log in again (their old sessions stay ended)."""
        by = cast(User, request.user)
        with transaction.atomic():
            users = list(queryset.filter(is_active=False))
            for user in users:
                user_set_active(user=user, active=True, by=by)
        count = len(users)
        self.message_user(request, f"Activated {count} user(s).", messages.SUCCESS)

    @admin.action(description="Deactivate the selected users")
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Refuse the selected users' logins and tokens from their next request on."""
        by = cast(User, request.user)
        count = 0
        with transaction.atomic():
            for user in queryset.filter(is_active=True):
                try:
                    user_set_active(user=user, active=False, by=by)
                except OwnAccountLockout as refusal:  # raised before any write
                    self.message_user(request, refusal.message, messages.WARNING)
                else:
                    count += 1
        self.message_user(request, f"Deactivated {count} user(s).", messages.SUCCESS)

    def save_model(
        self, request: HttpRequest, obj: Any, form: Any, change: Any
    ) -> None:
        """Save the account; a status change goes through its service and rules."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        wanted = {
            field: getattr(obj, field)
            for field in STATUS_FIELDS
            if field in form.changed_data
        }
        for field in wanted:
            setattr(obj, field, form.initial[field])
        super().save_model(request, obj, form, change)
        by = cast(User, request.user)
        if "is_superuser" in wanted:
            user_set_superuser(user=obj, superuser=wanted["is_superuser"], by=by)
        if "is_active" in wanted:
            # Deactivating revokes every token, so reactivating revives no session.
            user_set_active(user=obj, active=wanted["is_active"], by=by)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """Show an admin's own status read-only: the services refuse changing it."""
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and obj.pk == request.user.pk:
            return (*fields, "is_active", "is_superuser")
        return fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Allow deletion, except of one's own account."""
        if obj is not None and obj.pk == request.user.pk:
            return False
        return super().has_delete_permission(request, obj)


class AdminLoginPage:
    """The admin's login page, as the throttles see a view: its own scope."""

    # The API login's rates (config/settings.py), counted apart from its requests.
    throttle_scope = "admin_login"


class AdminLoginUsernameThrottle(LoginUsernameThrottle):
    """Admin sign-in attempts per username, whatever the address."""

    scope = "admin_login_username"


def admin_login(request: HttpRequest) -> HttpResponse:
    """Serve the admin's login page; sign-in attempts are rate limited."""
    if request.method == "POST":
        refusal = throttle_refusal(
            request,
            AdminLoginPage(),
            [ScopedWindowThrottle(), AdminLoginUsernameThrottle()],
        )
        if refusal is not None:
            return refusal
    return admin.site.login(request)
