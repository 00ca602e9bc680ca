"""The Django admin for accounts."""

from typing import Any

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
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.admin import BlacklistedTokenAdmin
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from core.throttling import (
    LoginUsernameThrottle,
    ScopedWindowThrottle,
    throttle_refusal,
)
from users.models import User
from users.services import user_revoke_tokens


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
        """Save the password and revoke the user's refresh tokens."""
        user = super().save(commit=commit)
        if commit:
            # A password reset by an admin is often about a stolen account.
            user_revoke_tokens(user=user)
        return user


# Only superusers reach the admin and the API has no groups: the page would mislead.
admin.site.unregister(Group)

# Named after the service, and "View site" leads to the API's docs (/ has no page).
admin.site.site_header = f"{settings.SPECTACULAR_SETTINGS['TITLE']} administration"
admin.site.site_title = settings.SPECTACULAR_SETTINGS["TITLE"]
admin.site.site_url = reverse_lazy("api:docs")


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
        """Let the selected users log in again."""
        # update() skips auto_now, so updated_at is set by hand.
        count = queryset.filter(is_active=False).update(
            is_active=True, updated_at=timezone.now()
        )
        self.message_user(request, f"Activated {count} user(s).", messages.SUCCESS)

    @admin.action(description="Deactivate the selected users")
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Refuse the selected users' logins and tokens from their next request on."""
        if queryset.filter(pk=request.user.pk).exists():
            # Deactivating oneself would lock the admin out in the middle of a task.
            self.message_user(
                request, "You cannot deactivate your own account.", messages.WARNING
            )
        with transaction.atomic():
            users = list(queryset.filter(is_active=True).exclude(pk=request.user.pk))
            User.objects.filter(pk__in=[user.pk for user in users]).update(
                is_active=False, updated_at=timezone.now()
            )
            # Revoked, so that reactivating an account does not revive old sessions.
            for user in users:
                user_revoke_tokens(user=user)
        count = len(users)
        self.message_user(request, f"Deactivated {count} user(s).", messages.SUCCESS)

    def save_model(
        self, request: HttpRequest, obj: Any, form: Any, change: Any
    ) -> None:
        """Save the account; deactivating it also revokes its refresh tokens."""
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            user_revoke_tokens(user=obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """Keep an admin from deactivating or demoting their own account."""
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
